// K-quant block layouts (ggml-common.h): hand-built blocks decode to values worked out by hand from the
// format, and random blocks decode as a per-element reading of the format says they should.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType, dequantizeTensor, quantTraitsOrThrow } from './index.ts';

const decode = (type: number, block: Uint8Array): Float32Array => dequantizeTensor(type, block, 256);
const HALF_ONE = [0x00, 0x3c];
const HALF_HALF = [0x00, 0x38]; // 0.5
const HALF_QUARTER = [0x00, 0x34]; // 0.25

/** 256 values given as runs: [[count, value], ...]. */
function runs(...parts: [number, number][]): number[] {
  const out: number[] = [];
  for (const [count, value] of parts) for (let i = 0; i < count; i++) out.push(value);
  assert.equal(out.length, 256);
  return out;
}

test('block sizes match ggml-common.h', () => {
  const sizes = { Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210, Q8_K: 292 } as const;
  for (const [name, bytes] of Object.entries(sizes)) {
    const t = quantTraitsOrThrow(GGMLType[name as keyof typeof sizes]);
    assert.equal(t.blockSize, 256, name);
    assert.equal(t.typeSize, bytes, name);
    assert.equal(t.vecDotType, GGMLType.Q8_K, name);
  }
});

test('Q2_K: d * sc * q - dmin * m, 2-bit q strided by 32 within each half', () => {
  const b = new Uint8Array(84);
  b[0] = 0x21; // group 0: sc 1, m 2
  b[1] = 0x03; // group 1: sc 3, m 0
  for (let g = 2; g < 16; g++) b[g] = 0x11; // sc 1, m 1
  b.fill(0xe4, 16, 48); // first half: q = 0, 1, 2, 3 for elements l, l + 32, l + 64, l + 96
  b.fill(0x1b, 48, 80); // second half: q = 3, 2, 1, 0
  b.set(HALF_ONE, 80); // d = 1
  b.set(HALF_HALF, 82); // dmin = 0.5
  // group 0: 0 - 0.5*2; group 1: 3*0 - 0; then q - 0.5 with q running 1, 2, 3 | 3, 2, 1, 0 per 32.
  const want = runs([16, -1], [16, 0], [32, 0.5], [32, 1.5], [32, 2.5], [32, 2.5], [32, 1.5], [32, 0.5], [32, -0.5]);
  assert.deepEqual([...decode(GGMLType.Q2_K, b)], want);
});

test('Q3_K: d * (sc - 32) * (q - 4), high bit from hmask, 6-bit scales split over 12 bytes', () => {
  const b = new Uint8Array(110);
  b.fill(0x01, 0, 32); // hmask bit 0: elements 0..31 have the high bit (q = low), the rest q = low - 4
  b.fill(0xe4, 32, 96); // low bits 0, 1, 2, 3 for l, l + 32, l + 64, l + 96 in both halves
  b[32] = 0xe7; // ... except element 0: low bits 3
  b[96 + 0] = 0x01; // group 0 scale low nibble 1
  b[96 + 8] = 0x02; // group 0 scale top bits 2: 33 -> +1
  b[96 + 1] = 0x40; // group 9 scale low nibble 4 (high nibble of byte 1)
  b[96 + 9] = 0x10; // group 9 top bits 1 (bits 4-5 of byte 8 + 9 % 4): 20 -> -12
  b.set(HALF_HALF, 108); // d = 0.5; every other group has scale 0 -> -32, so y = -16 * q
  // (Group 1: scale -32 times q = 0 is -0 in float arithmetic, as in ggml.)
  const want = runs([1, 1.5], [15, 0], [16, -0], [32, 48], [32, 32], [32, 16], [16, 64], [16, 24], [32, 48], [32, 32], [32, 16]);
  assert.deepEqual([...decode(GGMLType.Q3_K, b)], want);
});

test('Q4_K: d = 1, dmin = 0, every scale 1: the nibbles themselves, low nibbles first in each 64', () => {
  const b = new Uint8Array(144);
  b.set(HALF_ONE, 0); // d = 1, dmin = 0
  b.fill(1, 4, 8); // scales of groups 0..3
  b.fill(0, 8, 12); // mins of groups 0..3
  b.fill(0x01, 12, 16); // groups 4..7: scale low nibble 1, min 0
  for (let i = 0; i < 128; i++) b[16 + i] = (i & 15) | ((15 - (i & 15)) << 4);
  const up = Array.from({ length: 16 }, (_, i) => i);
  const down = up.map((v) => 15 - v);
  const want = [0, 1, 2, 3].flatMap(() => [...up, ...up, ...down, ...down]);
  assert.deepEqual([...decode(GGMLType.Q4_K, b)], want);
});

test('Q4_K: the top 2 bits of the 6-bit scale and min of groups 4..7 live in bytes 0..7', () => {
  const b = new Uint8Array(144);
  b.set(HALF_HALF, 0); // d = 0.5
  b.set(HALF_QUARTER, 2); // dmin = 0.25
  b[4 + 9] = 0x25; // group 5: scale low nibble 5, min low nibble 2
  b[4 + 1] = 0x80; // group 5 scale top bits 2 -> 37 (group 1's own scale bits stay 0)
  b[4 + 5] = 0xc0; // group 5 min top bits 3 -> 50
  b.fill(0x30, 16 + 64, 16 + 96); // group 5 = high nibbles of the third 32 bytes: q = 3
  // 0.5 * 37 * 3 - 0.25 * 50 = 43; every other group has scale and min 0.
  assert.deepEqual([...decode(GGMLType.Q4_K, b)], runs([160, 0], [32, 43], [64, 0]));
});

test('Q5_K: the 5th bit of element e is bit e / 32 of qh[e % 32]', () => {
  const b = new Uint8Array(176);
  b.set(HALF_ONE, 0); // d = 1
  b.set(HALF_ONE, 2); // dmin = 1
  b.fill(1, 4, 8); // groups 0..3: scale 1
  b.fill(0x50, 8, 12); // groups 0..3: min 16; bit 6 is group 4..7's min top bit: 1 -> min 16
  b.fill(0x01, 12, 16); // groups 4..7: scale 1, min low nibble 0
  b[16] = 0xff; // qh[0]: elements 0, 32, 64, ... 224 get +16
  b[48] = 0x5a; // element 0: 10, element 32: 5
  b[48 + 127] = 0xf7; // element 223: 7, element 255: 15
  const want = new Array<number>(256).fill(-16); // q - 16
  for (let e = 0; e < 256; e += 32) want[e] = 0;
  want[0] = 10;
  want[32] = 5;
  want[223] = -9;
  want[255] = -1;
  assert.deepEqual([...decode(GGMLType.Q5_K, b)], want);
});

test('Q6_K: d * sc * (q - 32), low nibbles in ql, top 2 bits in qh, signed scales', () => {
  const b = new Uint8Array(210);
  b[0] = 0xa5; // element 0 low 5, element 64 low 10
  b[32] = 0xf0; // element 32 low 0, element 96 low 15
  b[64] = 0x0f; // element 128 low 15
  b[128] = 0b00_01_11_10; // top bits: element 0 -> 2, 32 -> 3, 64 -> 1, 96 -> 0
  b[128 + 32] = 0b11; // element 128 -> 3
  b.fill(1, 192, 208);
  b[192] = 0xfd; // group 0: -3
  b[193] = 2; // group 1: 2
  b.set(HALF_HALF, 208); // d = 0.5
  // q = 0 (-> -32) everywhere else: 0.5 * sc * -32.
  const want = runs([16, 48], [16, -32], [224, -16]);
  want[0] = 0.5 * -3 * (5 + 32 - 32); // -7.5
  want[32] = 0.5 * (0 + 48 - 32); // 8
  want[64] = 0.5 * (10 + 16 - 32); // -3
  want[96] = 0.5 * (15 - 32); // -8.5
  want[128] = 0.5 * (15 + 48 - 32); // 15.5
  assert.deepEqual([...decode(GGMLType.Q6_K, b)], want);
});

test('Q8_K: f32 d times signed bytes; bsums do not enter the decode', () => {
  const b = new Uint8Array(292);
  new DataView(b.buffer).setFloat32(0, 0.25, true);
  for (let e = 0; e < 256; e++) b[4 + e] = e ^ 0x80; // int8 value e - 128
  b.fill(0x7f, 260); // bsums: garbage on purpose
  const want = Array.from({ length: 256 }, (_, e) => 0.25 * (e - 128));
  assert.deepEqual([...decode(GGMLType.Q8_K, b)], want);
});

// Per-element readings of the layouts, the way ggml-common.h describes them, for random blocks.
// d and dmin are powers of two and the integers are small, so every product is exact in any order.
const half = (b: Uint8Array, o: number): number => ({ 0x3800: 0.5, 0x3400: 0.25 })[b[o] | (b[o + 1] << 8)] ?? NaN;
const scaleMinK4 = (s: Uint8Array, g: number): [number, number] => g < 4
  ? [s[g] & 63, s[g + 4] & 63]
  : [(s[g + 4] & 15) | ((s[g - 4] >> 6) << 4), (s[g + 4] >> 4) | ((s[g] >> 6) << 4)];
const bit = (bytes: Uint8Array, e: number): number => (bytes[e & 31] >> (e >> 5)) & 1; // hmask / qh
const crumb = (qs: Uint8Array, e: number): number => (qs[32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
const nibble = (qs: Uint8Array, e: number): number =>
  (e & 63) < 32 ? qs[32 * (e >> 6) + (e & 31)] & 15 : qs[32 * (e >> 6) + (e & 31)] >> 4;

const SPEC: Record<string, { bytes: number; halves: number[]; element(b: Uint8Array, e: number): number }> = {
  Q2_K: { bytes: 84, halves: [80, 82], element(b, e) {
    const s = b[e >> 4];
    return half(b, 80) * (s & 15) * crumb(b.subarray(16), e) - half(b, 82) * (s >> 4);
  } },
  Q3_K: { bytes: 110, halves: [108], element(b, e) {
    const g = e >> 4;
    const s = b.subarray(96);
    const sc = (g < 8 ? s[g] & 15 : s[g - 8] >> 4) | (((s[8 + (g % 4)] >> (2 * (g >> 2))) & 3) << 4);
    return half(b, 108) * (sc - 32) * (crumb(b.subarray(32), e) + 4 * bit(b, e) - 4);
  } },
  Q4_K: { bytes: 144, halves: [0, 2], element(b, e) {
    const [sc, m] = scaleMinK4(b.subarray(4), e >> 5);
    return half(b, 0) * sc * nibble(b.subarray(16), e) - half(b, 2) * m;
  } },
  Q5_K: { bytes: 176, halves: [0, 2], element(b, e) {
    const [sc, m] = scaleMinK4(b.subarray(4), e >> 5);
    return half(b, 0) * sc * (nibble(b.subarray(48), e) + 16 * bit(b.subarray(16), e)) - half(b, 2) * m;
  } },
  Q6_K: { bytes: 210, halves: [208], element(b, e) {
    const h = e >> 7;
    const s = (e >> 5) & 3;
    const l = e & 31;
    const lowByte = b[64 * h + 32 * (s & 1) + l];
    const low = s < 2 ? lowByte & 15 : lowByte >> 4;
    const top = (b[128 + 32 * h + l] >> (2 * s)) & 3;
    const sc = (b[192 + (e >> 4)] << 24) >> 24;
    return half(b, 208) * sc * ((low | (top << 4)) - 32);
  } },
  Q8_K: { bytes: 292, halves: [], element(b, e) {
    return new DataView(b.buffer, b.byteOffset).getFloat32(0, true) * ((b[4 + e] << 24) >> 24);
  } },
};

test('random blocks of every K-quant decode as the per-element reading of the layout', () => {
  let s = 0x9e3779b9;
  const byte = (): number => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    return s & 0xff;
  };
  for (const [name, spec] of Object.entries(SPEC)) {
    const nb = 8;
    const blocks = new Uint8Array(nb * spec.bytes);
    for (let i = 0; i < blocks.length; i++) blocks[i] = byte();
    for (let i = 0; i < nb; i++) {
      const o = i * spec.bytes;
      spec.halves.forEach((at, k) => blocks.set(k === 0 ? HALF_HALF : HALF_QUARTER, o + at));
      if (name === 'Q8_K') new DataView(blocks.buffer).setFloat32(o, -0.125, true);
    }
    const got = dequantizeTensor(GGMLType[name as keyof typeof GGMLType], blocks, nb * 256);
    for (let i = 0; i < nb; i++) {
      const block = blocks.subarray(i * spec.bytes, (i + 1) * spec.bytes);
      for (let e = 0; e < 256; e++) {
        assert.equal(got[i * 256 + e], spec.element(block, e), `${name} block ${i} element ${e}`);
      }
    }
  }
});
