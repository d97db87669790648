import type { PrimitiveFn } from "./table.js";

export const stringPrimitives: Record<number, PrimitiveFn> = {};
export const stringModule: Record<string, PrimitiveFn> = {};
