/**
 * Method trailers: the bytes after the last bytecode say where the method's source is. The last byte is
 * the kind:
 *
 *   kind 0  no source                         [0]
 *   kind 1  source pointer                    [file:u8][position:u32 LE][1]
 *   kind 2  embedded source (UTF-8)           [bytes...][length:u32 LE][2]
 *
 * File numbers below 255 index the image's SourceFiles array (the kernel's .st files, the sources file);
 * file 255 is the image's .changes file.
 */

export const CHANGES_FILE_INDEX = 255;

export type SourceRef =
  | { kind: "none" }
  | { kind: "file"; file: number; position: number }
  | { kind: "embedded"; source: string };

export function encodeTrailer(ref: SourceRef): Uint8Array {
  switch (ref.kind) {
    case "none":
      return Uint8Array.of(0);
    case "file": {
      if (ref.file < 0 || ref.file > 255) throw new RangeError(`source file index out of range: ${ref.file}`);
      if (ref.position < 0 || ref.position > 0xffffffff) throw new RangeError(`source position out of range: ${ref.position}`);
      const out = new Uint8Array(6);
      out[0] = ref.file;
      new DataView(out.buffer).setUint32(1, ref.position, true);
      out[5] = 1;
      return out;
    }
    case "embedded": {
      const text = new TextEncoder().encode(ref.source);
      const out = new Uint8Array(text.length + 5);
      out.set(text, 0);
      new DataView(out.buffer).setUint32(text.length, text.length, true);
      out[text.length + 4] = 2;
      return out;
    }
  }
}

/** Decodes the trailer at the end of `bytes` (a method's byte tail); answers the ref and the trailer's size. */
export function decodeTrailer(bytes: Uint8Array): { ref: SourceRef; size: number } {
  const n = bytes.length;
  if (n === 0) return { ref: { kind: "none" }, size: 0 };
  const kind = bytes[n - 1];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 1 && n >= 6) {
    return { ref: { kind: "file", file: bytes[n - 6], position: view.getUint32(n - 5, true) }, size: 6 };
  }
  if (kind === 2 && n >= 5) {
    const len = view.getUint32(n - 5, true);
    if (len + 5 <= n) {
      const source = new TextDecoder().decode(bytes.subarray(n - 5 - len, n - 5));
      return { ref: { kind: "embedded", source }, size: len + 5 };
    }
  }
  return { ref: { kind: "none" }, size: 1 };
}
