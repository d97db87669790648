/**
 * Descriptions of guest objects made without running guest code (so they work on broken images):
 * literals print as literals, other objects as "a Foo". Used for fields in `describe`, error messages
 * and as the fallback when an object's own printString fails.
 */
import type { ObjectMemory } from "../../vm/memory/heap.js";
import { Special } from "../../vm/memory/special.js";
import { Format, isBytesFormat, isCompiledMethodFormat } from "../../vm/memory/format.js";
import { characterValue, isCharacter, isSmallInt, smallIntValue, type Oop } from "../../vm/memory/oop.js";
import { bigIntValueOf, isLargeInteger } from "../../vm/memory/integers.js";
import { className, inheritsFromSpecial, isBehavior, isMetaclass } from "./classify.js";

export function withArticle(name: string): string {
  return /^[AEIOU]/i.test(name) ? `an ${name}` : `a ${name}`;
}

export function shortDescription(mem: ObjectMemory, oop: Oop, maxLength = 60): string {
  if (isSmallInt(oop)) return String(smallIntValue(oop));
  if (isCharacter(oop)) {
    const c = characterValue(oop);
    return c > 32 && c < 127 ? `$${String.fromCharCode(c)}` : `Character value: ${c}`;
  }
  if (oop === mem.nilOop) return "nil";
  if (oop === mem.trueOop) return "true";
  if (oop === mem.falseOop) return "false";
  if ((oop & 3) !== 0 || oop === 0) return "an invalid reference";
  const cls = mem.classOfPointer(oop);
  if (cls === 0) return "a classless object";
  if (isLargeInteger(mem, oop)) return String(bigIntValueOf(mem, oop));
  if (mem.isFloatClass(cls) && mem.slotCount(oop) === 2) return formatFloat(mem.floatValueOf(oop));
  if (isBehavior(mem, oop)) return className(mem, oop);
  const fmt = mem.formatOf(oop);
  if (isBytesFormat(fmt)) {
    const text = mem.stringOf(oop);
    const clipped = text.length > maxLength ? `${text.slice(0, maxLength)}...` : text;
    if (inheritsFromSpecial(mem, cls, Special.classSymbol)) return `#${clipped}`;
    if (inheritsFromSpecial(mem, cls, Special.classString)) return `'${clipped.replace(/'/g, "''")}'`;
  }
  if (isCompiledMethodFormat(fmt)) return withArticle(className(mem, cls));
  if (isMetaclass(mem, cls) || fmt <= Format.words) return withArticle(className(mem, cls));
  return withArticle(className(mem, cls));
}

function formatFloat(x: number): string {
  if (Number.isNaN(x)) return "Float nan";
  if (x === Infinity) return "Float infinity";
  if (x === -Infinity) return "Float negativeInfinity";
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}
