// Little-endian f16 fields inside packed blocks (the `ggml_half d, m, s` of ggml-common.h).

import { f16Table, f32ToF16 } from '../../util/f16.ts';

const HALF_TO_F32 = f16Table();

/** The f16 at bytes[o], bytes[o + 1], as a float. */
export function readHalf(bytes: Uint8Array, o: number): number {
  return HALF_TO_F32[bytes[o] | (bytes[o + 1] << 8)];
}

/** Store v rounded to f16 (nearest even) at bytes[o], bytes[o + 1]. */
export function writeHalf(bytes: Uint8Array, o: number, v: number): void {
  const h = f32ToF16(v);
  bytes[o] = h & 0xff;
  bytes[o + 1] = h >> 8;
}
