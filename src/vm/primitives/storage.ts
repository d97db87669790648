import type { PrimitiveFn } from "./table.js";

export const storagePrimitives: Record<number, PrimitiveFn> = {};
