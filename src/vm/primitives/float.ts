import type { PrimitiveFn } from "./table.js";

export const floatPrimitives: Record<number, PrimitiveFn> = {};
