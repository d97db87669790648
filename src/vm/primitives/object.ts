import type { PrimitiveFn } from "./table.js";

export const objectPrimitives: Record<number, PrimitiveFn> = {};
