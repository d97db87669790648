/**
 * The Smalltalk compiler: source to MethodSpec. See docs/compiler.md.
 *
 *   const { method, warnings } = compileMethod("foo ^42", ctx, { fileName: "Kernel.st", line: 120 });
 */
export { compileMethod, compileDoIt, parseMethod, parseExpression, type CompileResult } from "./compile.js";
export { CompileError, formatWarning, type CompileOptions, type CompileWarning, type SourceLocation, type WarningKind } from "./errors.js";
export type { CompileContext } from "./context.js";
export type * from "./ast.js";
export { readChunks, type ChunkItem, type ChunkMethod } from "./chunks.js";
export { parseClassDefinition, type ClassDefinition, type ClassKind } from "./classdef.js";
export { listMethod, printLiteral } from "./listing.js";
export { blockLayouts, type BlockLayout } from "./blocks.js";
