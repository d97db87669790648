import type { PrimitiveFn } from "./table.js";

export const largeIntegerPrimitives: Record<number, PrimitiveFn> = {};
