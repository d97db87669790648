import { describe, expect, it } from "vitest";
import { createMicroImage } from "../testing/microImage.js";

describe("interpreter smoke", () => {
  it("adds two SmallIntegers", () => {
    const img = createMicroImage();
    const { result, slice } = img.run([0x20, 0x21, 0xb0, 0x7c], [img.int(3), img.int(4)]);
    expect(slice.fault).toBeUndefined();
    expect(result).toBe(img.int(7));
  });
});
