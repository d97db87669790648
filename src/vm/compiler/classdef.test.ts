import { describe, expect, test } from "vitest";
import { parseClassDefinition } from "./classdef.js";

describe("parseClassDefinition", () => {
  test("the Pharo package: form", () => {
    expect(parseClassDefinition("Object subclass: #Point2\n\tinstanceVariableNames: 'x y'\n\tclassVariableNames: 'Origin'\n\tpackage: 'Demo'")).toEqual({
      kind: "subclass", superclass: "Object", className: "Point2", classKind: "normal",
      instanceVariableNames: ["x", "y"], classVariableNames: ["Origin"], poolDictionaries: [], package: "Demo",
    });
  });

  test("the Squeak category: form with pool dictionaries", () => {
    expect(parseClassDefinition("Object subclass: #Foo instanceVariableNames: '' classVariableNames: 'A B' poolDictionaries: 'TextConstants' category: 'Kernel-Foo'")).toEqual({
      kind: "subclass", superclass: "Object", className: "Foo", classKind: "normal",
      instanceVariableNames: [], classVariableNames: ["A", "B"], poolDictionaries: ["TextConstants"], category: "Kernel-Foo",
    });
  });

  test.each([
    ["subclass:", "normal"],
    ["variableSubclass:", "variable"],
    ["variableByteSubclass:", "bytes"],
    ["variableWordSubclass:", "words"],
    ["weakSubclass:", "weak"],
    ["immediateSubclass:", "immediate"],
  ])("%s makes %s classes", (keyword, kind) => {
    expect(parseClassDefinition(`ArrayedCollection ${keyword} #Foo instanceVariableNames: '' classVariableNames: '' package: 'X'`)).toMatchObject({ classKind: kind });
  });

  test("a nil superclass, a string class name, a bare subclass:", () => {
    expect(parseClassDefinition("nil subclass: #ProtoObject instanceVariableNames: '' classVariableNames: '' category: 'Kernel'")).toMatchObject({
      superclass: null, className: "ProtoObject",
    });
    expect(parseClassDefinition("Object subclass: 'Foo'")).toMatchObject({ className: "Foo", instanceVariableNames: [] });
    expect(parseClassDefinition("Object subclass: #Foo")).toMatchObject({ className: "Foo" });
    expect(parseClassDefinition("  Object subclass: #Foo instanceVariableNames: '  a\n\tb  '. ")).toMatchObject({ instanceVariableNames: ["a", "b"] });
  });

  test("class-side instance variables", () => {
    expect(parseClassDefinition("Point2 class instanceVariableNames: 'cache count'")).toEqual({
      kind: "classInstanceVariables", className: "Point2", instanceVariableNames: ["cache", "count"],
    });
    expect(parseClassDefinition("Point2 class instanceVariableNames: ''")).toEqual({ kind: "classInstanceVariables", className: "Point2", instanceVariableNames: [] });
  });

  test.each([
    "Transcript show: 'hello'",
    "Object subclass: #Foo instanceVariableNames: 3",
    "Object subclass: #Foo bogus: ''",
    "Object subclass: #Foo package: 'a' package: 'b'",
    "Object new subclass: #Foo",
    "Object subclass: Foo",
    "Object subclass: #Foo. Object subclass: #Bar",
    "| t | Object subclass: #Foo",
    "Object subclass: #Foo; yourself",
    "Object subclass: #Foo instanceVariableNames: 'a' uses: Trait",
    "Point2 class instanceVariableNames: #a",
    "Point2 instanceVariableNames: 'a'",
    "Object subclass: #Foo instanceVariableNames: 'a",
    "",
  ])("%s is not a class definition", (src) => {
    expect(parseClassDefinition(src)).toBeUndefined();
  });
});
