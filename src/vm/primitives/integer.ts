import type { PrimitiveFn } from "./table.js";

export const integerPrimitives: Record<number, PrimitiveFn> = {};
