/**
 * Recognizes class definition messages in a doit, so that a file-in can create classes before it
 * compiles their methods:
 *
 *   Object subclass: #Point2
 *       instanceVariableNames: 'x y'
 *       classVariableNames: ''
 *       package: 'Demo'
 *
 *   Point2 class instanceVariableNames: 'cache'
 *
 * The subclass keyword gives the kind of instances (subclass:, variableSubclass:, variableByteSubclass:,
 * variableWordSubclass:, weakSubclass:, immediateSubclass:); it may be followed, in any order, by
 * instanceVariableNames:, classVariableNames:, poolDictionaries:, package: and category:, each with a
 * string. The superclass is a name or nil. Anything else answers undefined.
 */
import type { ExpressionNode } from "./ast.js";
import { CompileError } from "./errors.js";
import { parseExpression } from "./compile.js";

export type ClassKind = "normal" | "variable" | "bytes" | "words" | "weak" | "immediate";

export type ClassDefinition =
  | {
      kind: "subclass";
      /** null for `nil subclass: ...` */
      superclass: string | null;
      className: string;
      classKind: ClassKind;
      instanceVariableNames: string[];
      classVariableNames: string[];
      poolDictionaries: string[];
      package?: string;
      category?: string;
    }
  | { kind: "classInstanceVariables"; className: string; instanceVariableNames: string[] };

const SUBCLASS_KINDS: Record<string, ClassKind> = {
  "subclass:": "normal",
  "variableSubclass:": "variable",
  "variableByteSubclass:": "bytes",
  "variableWordSubclass:": "words",
  "weakSubclass:": "weak",
  "immediateSubclass:": "immediate",
};

const OPTIONS = new Set(["instanceVariableNames:", "classVariableNames:", "poolDictionaries:", "package:", "category:"]);

function names(s: string): string[] {
  return s.split(/\s+/).filter((n) => n !== "");
}

function stringValue(node: ExpressionNode, symbolToo = false): string | undefined {
  if (node.kind !== "literal") return undefined;
  const v = node.value;
  if (v.kind === "string" || (symbolToo && v.kind === "symbol")) return v.value;
  return undefined;
}

export function parseClassDefinition(source: string): ClassDefinition | undefined {
  let statements;
  try {
    const doit = parseExpression(source);
    if (doit.body.temps.length > 0) return undefined;
    statements = doit.body.statements;
  } catch (e) {
    if (e instanceof CompileError) return undefined;
    throw e;
  }
  if (statements.length !== 1) return undefined;
  const send = statements[0];
  if (send.kind !== "message") return undefined;
  const keywords = send.selector.split(":").slice(0, -1).map((k) => `${k}:`);
  const rcv = send.receiver;

  if (send.selector === "instanceVariableNames:" && rcv.kind === "message" && rcv.selector === "class" && rcv.receiver.kind === "variable") {
    const ivars = stringValue(send.args[0]);
    if (ivars === undefined) return undefined;
    return { kind: "classInstanceVariables", className: rcv.receiver.name, instanceVariableNames: names(ivars) };
  }

  const classKind = SUBCLASS_KINDS[keywords[0]];
  if (!classKind) return undefined;
  let superclass: string | null;
  if (rcv.kind === "variable") superclass = rcv.name;
  else if (rcv.kind === "literal" && rcv.value.kind === "nil") superclass = null;
  else return undefined;
  const className = stringValue(send.args[0], true);
  if (className === undefined) return undefined;
  const def: ClassDefinition = {
    kind: "subclass", superclass, className, classKind, instanceVariableNames: [], classVariableNames: [], poolDictionaries: [],
  };
  const seen = new Set<string>();
  for (let i = 1; i < keywords.length; i++) {
    const k = keywords[i];
    const value = stringValue(send.args[i]);
    if (!OPTIONS.has(k) || seen.has(k) || value === undefined) return undefined;
    seen.add(k);
    switch (k) {
      case "instanceVariableNames:": def.instanceVariableNames = names(value); break;
      case "classVariableNames:": def.classVariableNames = names(value); break;
      case "poolDictionaries:": def.poolDictionaries = names(value); break;
      case "package:": def.package = value; break;
      case "category:": def.category = value; break;
    }
  }
  return def;
}
