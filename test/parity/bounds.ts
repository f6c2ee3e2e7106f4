// Where the parity bounds against llama.cpp come from. Each bound is what the two engines may legitimately
// differ by on whichever ggml CPU library the reference loads (x86-64: x64 baseline, SSE4.2, AVX, AVX2,
// AVX-512, AVX-512 VNNI/BF16; see test/reference/cpu-variant.ts), derived from the arithmetic, not from one
// run. Ranges quoted as "measured" come from every library this machine runs (HEARTH_REFERENCE_CPU=…) on the
// synthetic 2048-wide, 1-layer models. Bit-level agreement is demanded elsewhere: Hearth's fast kernels
// against its own ref backend (deterministic on every CPU), and Hearth's activation packing against ggml's
// own packing functions (test/reference/activation-packing.test.ts).
//
// Rounding x to p significant bits moves it by a relative rms of 2^-p / √3 · 0.74 (error uniform in ±½ ulp,
// averaged over the mantissa): 2.1e-4 for f16 (p = 11), 1.7e-3 for bf16 (p = 8). Fed to a matmul, that is
// an NMSE of its square at the output: 4.3e-8 (f16), 2.8e-6 (bf16). A token of a 1-layer model passes five
// matmul inputs in series (QKV, attention output, gate/up, down, output head).

import { GGMLType } from '../../src/gguf/ggml-types.ts';
import { quantizeActivations } from '../../src/quant/index.ts';
import { ggmlHarnessUnavailable, ggmlPack, packingProbe, type PackOp } from '../reference/ggml-cpu.ts';

/**
 * F32 weights, median step: f32 summation in ggml (order per library) against f64 in Hearth's ref backend,
 * relative ~1e-7 per dot product of ≤ 5632 terms → ≤ 1e-13 per matmul, grown by the model's sensitivity
 * (below); measured 2e-10 – 2.3e-9.
 */
export const SUMMATION_NMSE = 1e-8;

/**
 * F32 weights, any step: K and V are stored as f16 in both engines, and a value within summation noise of
 * an f16 rounding boundary rounds the other way (one element moves by one f16 ulp, 2^-11 relative).
 */
export const KV_F16_FLIP_NMSE = 1e-6;

/**
 * F16 weights, median step: ggml rounds each matmul's f32 input to f16 on some paths and multiplies it in
 * f32 on others; one f16 rounding of all five inputs is 5 × 4.3e-8 ≈ 2.2e-7 (measured 1.0e-7 – 1.9e-7).
 */
export const F16_ACTIVATION_NMSE = 1e-6;

/**
 * BF16 weights, median step: as for F16 with bf16 rounding. The AVX2 libraries (haswell, alderlake) multiply
 * decode-step activations in f32, the AVX-512 BF16 ones and Hearth round them to bf16 first: 5 × 2.8e-6 ≈
 * 1.4e-5 when every input differs (measured 4.6e-6 on haswell, ≤ 1e-7 on the others).
 */
export const BF16_ACTIVATION_NMSE = 3e-5;

/**
 * Weights with a quantized activation type (Q8_0, Q8_1, Q8_K), any step: an activation within summation
 * noise of a rounding boundary lands in the neighbouring integer. The model amplifies that: perturbing
 * Hearth's own matmul outputs by a relative 1e-7 moves its logits by up to ~7e-5 with Q8 activations
 * (measured with Hearth alone). Measured against llama.cpp: 3e-6 – 1.9e-4 on the steps it hits.
 */
export const Q8_FLIP_NMSE = 1e-3;

/**
 * The same flips hit a step when any of its ~12,000 quantized activations sits on such an edge: measured on
 * up to half the steps (Q2_K: 4 of 8 on x64, sse42 and haswell). A systematic difference (a decoding error,
 * another rounding mode or scale) moves every step. So a quarter of the steps must agree to summation noise.
 */
export const QUARTILE_EXACT_NMSE = 1e-9;

/** Any step of a model with 2 layers or more, by activation type: the flips of the sharp tier, compounded. */
export const LOOSE_MAX_NMSE: Record<string, number> = {
  F32: KV_F16_FLIP_NMSE,
  F16: 10 * F16_ACTIVATION_NMSE,
  BF16: 3 * BF16_ACTIVATION_NMSE,
  Q8_0: Q8_FLIP_NMSE,
  Q8_1: Q8_FLIP_NMSE,
  Q8_K: Q8_FLIP_NMSE,
};

export interface SharpBounds {
  max: number;
  median?: number;
  lowerQuartile?: number;
  allowNearTies: boolean;
  /** Why these bounds, for the test's diagnostics. */
  why: string;
}

/** One line naming the bounds, for diagnostics. */
export function describeBounds(b: SharpBounds): string {
  const parts = [`max ${b.max}`];
  if (b.median !== undefined) parts.push(`median ${b.median}`);
  if (b.lowerQuartile !== undefined) parts.push(`lower quartile ${b.lowerQuartile}`);
  if (b.allowNearTies) parts.push('near-ties excused');
  return `${parts.join(', ')} (${b.why})`;
}

const PACK_OPS: Record<number, PackOp> = { [GGMLType.Q8_0]: 'q8_0', [GGMLType.Q8_1]: 'q8_1', [GGMLType.Q8_K]: 'q8_K' };
const packingCache = new Map<string, boolean>();

/**
 * Whether ggml's CPU library `variant` packs `vecDotType` activations byte for byte as Hearth does (true for
 * unquantized activation types). x64 and sse42 use ggml's portable Q8_0 / Q8_1 rounding (half away from zero,
 * 1 / (amax / 127)); the AVX libraries and Hearth round half to even with 127 / amax.
 */
export function packsLikeHearth(variant: string, vecDotType: number): boolean {
  const op = PACK_OPS[vecDotType];
  if (op === undefined) return true;
  const key = `${variant}|${op}`;
  let same = packingCache.get(key);
  if (same === undefined) {
    const why = ggmlHarnessUnavailable();
    if (why) throw new Error(`cannot tell how ggml-cpu-${variant} packs ${op} activations: ${why}`);
    const x = packingProbe();
    const theirs = ggmlPack(variant, op, x);
    const ours = quantizeActivations(vecDotType, x);
    same = theirs !== null && theirs.length === ours.length && theirs.every((v, i) => v === ours[i]);
    packingCache.set(key, same);
  }
  return same;
}

/**
 * Bounds for a 1-layer model whose weights are `weightType` (activations packed as `vecDotType`) when
 * llama.cpp ran on ggml-cpu-`variant`: the sharp tier, which any systematic difference breaks.
 */
export function sharpBounds(weightType: string, vecDotType: number, variant: string): SharpBounds {
  switch (weightType) {
    case 'F32': return { max: KV_F16_FLIP_NMSE, median: SUMMATION_NMSE, allowNearTies: false, why: 'summation order, f16 KV flips' };
    case 'F16': return { max: 10 * F16_ACTIVATION_NMSE, median: F16_ACTIVATION_NMSE, allowNearTies: false, why: 'f16 activation rounding' };
    case 'BF16': return { max: 3 * BF16_ACTIVATION_NMSE, median: BF16_ACTIVATION_NMSE, allowNearTies: false, why: 'bf16 activation rounding' };
  }
  if (packsLikeHearth(variant, vecDotType)) {
    return { max: Q8_FLIP_NMSE, lowerQuartile: QUARTILE_EXACT_NMSE, allowNearTies: false, why: 'same packing: rounding flips only' };
  }
  // Another rounding of ties and scale edges in many blocks: every step moves like a flipped one, and an
  // argmax within that distance of the runner-up may change.
  return { max: Q8_FLIP_NMSE, allowNearTies: true, why: `ggml-cpu-${variant} packs with ggml's portable rounding` };
}
