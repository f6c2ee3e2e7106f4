// The inputs of the K-quant golden files: named float32 rows, generated here from fixed seeds so the
// generator (which runs ggml) and the test (which runs our codecs) see the same bits.

export const BLOCK = 256;

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function uniformSource(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function row(n: number, seed: number, gen: (i: number, u: () => number, normal: () => number) => number): Float32Array {
  const u = uniformSource(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = gen(i, u, normal);
  return out;
}

const N = 64 * BLOCK;

/** Each set stresses a different path of the scale searches (ties, clamps, zero groups, f16 limits). */
export const GOLDEN_INPUTS: Record<string, () => Float32Array> = {
  // llama.cpp test-quantize-fns data: 0.1 + 2 cosf(i), 32 * 128 elements.
  cosine: () => row(32 * 128, 0, (i) => 0.1 + Math.fround(2 * Math.fround(Math.cos(i)))),
  gaussian: () => row(N, 1, (_i, _u, g) => g()),
  positive: () => row(N, 2, (_i, u) => u()),
  negative: () => row(N, 3, (_i, u) => -3 * u()),
  heavyTail: () => row(N, 4, (_i, _u, g) => g() ** 3),
  sparse: () => row(N, 5, (_i, u, g) => (u() < 0.05 ? g() : 0)),
  // Small integers and eighths: many values fall exactly between two quantization levels.
  integers: () => row(N, 6, (_i, u) => Math.floor(u() * 9) - 4),
  eighths: () => row(N, 7, (_i, u) => (Math.floor(u() * 33) - 16) / 8),
  // Block b scaled by 10^(b mod 13 - 6): scales near the f16 subnormal range and large ones.
  scales: () => row(N, 8, (i, _u, g) => g() * 10 ** ((Math.floor(i / BLOCK) % 13) - 6)),
  outliers: () => row(N, 9, (i, _u, g) => {
    const b = Math.floor(i / BLOCK);
    return i % BLOCK === (b * 37) % BLOCK ? (b % 2 ? 50 : -50) : 0.01 * g();
  }),
  // Whole blocks of zeros, of one constant, and groups of 16 zeros inside normal blocks.
  flat: () => row(N, 10, (i, _u, g) => {
    const b = Math.floor(i / BLOCK);
    if (b % 4 === 0) return 0;
    if (b % 4 === 1) return (b % 5) - 2 + 0.3;
    return (i >> 4) % 3 === 0 ? 0 : g();
  }),
};
