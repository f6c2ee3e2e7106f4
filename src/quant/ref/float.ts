// F32, F16 and BF16: one element per "block", little-endian, as ggml stores them.
// F16 and BF16 round to nearest even (ggml's GGML_FP32_TO_FP16 / GGML_FP32_TO_BF16, NaN kept quiet).

import { GGMLType } from '../../gguf/ggml-types.ts';
import { f16Table, f32ToF16, f32ToBF16 } from '../../util/f16.ts';
import { registerQuant } from '../traits.ts';

registerQuant({
  id: GGMLType.F32,
  vecDotType: GGMLType.F32,
  // Byte copies: the host is little-endian, like every platform ggml writes GGUF files on.
  dequantize(src, dst, n) {
    new Uint8Array(dst.buffer, dst.byteOffset, n * 4).set(src.subarray(0, n * 4));
  },
  quantize(src, dst, n) {
    dst.set(new Uint8Array(src.buffer, src.byteOffset, n * 4));
  },
});

registerQuant({
  id: GGMLType.F16,
  vecDotType: GGMLType.F16,
  dequantize(src, dst, n) {
    const table = f16Table();
    for (let i = 0; i < n; i++) dst[i] = table[src[2 * i] | (src[2 * i + 1] << 8)];
  },
  quantize(src, dst, n) {
    for (let i = 0; i < n; i++) {
      const h = f32ToF16(src[i]);
      dst[2 * i] = h & 0xff;
      dst[2 * i + 1] = h >> 8;
    }
  },
});

registerQuant({
  id: GGMLType.BF16,
  vecDotType: GGMLType.BF16,
  // A bf16 is the top half of an f32: write the bits straight into the destination.
  dequantize(src, dst, n) {
    const bits = new Uint32Array(dst.buffer, dst.byteOffset, n);
    for (let i = 0; i < n; i++) bits[i] = ((src[2 * i] | (src[2 * i + 1] << 8)) << 16) >>> 0;
  },
  quantize(src, dst, n) {
    for (let i = 0; i < n; i++) {
      const h = f32ToBF16(src[i]);
      dst[2 * i] = h & 0xff;
      dst[2 * i + 1] = h >> 8;
    }
  },
});
