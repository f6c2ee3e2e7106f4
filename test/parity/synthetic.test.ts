// Hearth against llama.cpp on synthetic models of a real width: 2048 wide, 32 query / 4 KV heads (head dim
// 64), FFN 5632, the 32000-token Llama 2 vocabulary, in every tensor type Hearth decodes, for llama and
// qwen2 (Q/K/V biases, NeoX rope), tied output and scaled rope. Weights are seeded random
// (test/fixtures/synthetic-model.ts) with logits of std ~4, so argmax comparisons mean something.
//
// Two tiers, because a quantized pipeline has two kinds of disagreement with another implementation (the
// bounds and where each comes from are in bounds.ts; they hold on every ggml CPU library, see
// HEARTH_REFERENCE_CPU in test/reference/cpu-variant.ts):
//
// 1. One layer, every type: the sharp check. Both engines read identical bytes and Hearth rounds
//    activations through each type's vec_dot_type as ggml's CPU backend does, so steps agree to float
//    summation noise (NMSE ~1e-14), except where a value within rounding distance of a quantization boundary
//    falls into different bins and moves one step by up to ~2e-4. So a quarter of the steps must be exact to
//    summation noise (any systematic decoding or rounding difference breaks that), every step must stay under
//    a loose bound, and the greedy token must agree at every step. F16 / BF16 weights get a median bound from
//    one rounding of the activations, which some ggml libraries skip.
// 2. Two layers, a subset of types plus qwen2, tied output and scaled rope: the second layer re-quantizes
//    whatever the first layer's rare bin flips changed, so nearly every step then differs at ~1e-4 NMSE.
//    So here only the loose bounds apply, and a greedy difference is excused when llama.cpp itself scores
//    Hearth's token within 4 RMS logit errors of its own (a tie at the precision of the comparison).
//
// Few layers, not 22 or 32: the reference backend is plain TypeScript (~0.5 s per decoded token for this
// width), and every per-layer code path (attention over the KV cache, GQA, rope, SwiGLU, residuals into a
// layer whose K/V depend on the one before) is exercised by two layers as by thirty. The models are written
// to test/.cache/synthetic on first use (~8 GB); the models of one type share their tensors, which are
// drawn and encoded once and split over one worker thread per core.

import { test } from 'node:test';
import { quantTraits } from '../../src/quant/index.ts';
import { typeLayoutByName, typeName } from '../../src/gguf/ggml-types.ts';
import { syntheticModelPath, type SyntheticModelOptions } from '../fixtures/synthetic-model.ts';
import { requireReference } from '../reference/client.ts';
import { assertParity, compareWithReference, describeParity, parityBackend } from './parity-harness.ts';
import { describeBounds, LOOSE_MAX_NMSE, sharpBounds, type SharpBounds } from './bounds.ts';

// BOS + "The quick brown fox jumps over" in the Llama 2 vocabulary (Hearth's and llama.cpp's tokenization).
const PROMPT = [1, 450, 4996, 17354, 1701, 29916, 432, 17204, 975];
const N_PREDICT = 8;

// Known differences: the case runs and reports but does not fail the suite.
const Q8_1_SUM = 'Q4_1 / Q5_1 weights: a residual ~3e-5 median NMSE remains after emulating x86 Q8_1 activations (127/amax, round-half-even, m*s per block); cause not found';
const FIVE_BIT = 'systematic ~1e-4 NMSE on 2048-wide rows (exact on 256-wide ones); cause not found yet';
const TODO: Record<string, string> = { Q4_1: Q8_1_SUM, Q5_1: Q8_1_SUM, Q5_0: FIVE_BIT, Q5_K: FIVE_BIT };

interface Case {
  label: string;
  opts: SyntheticModelOptions;
  /** Tier 1: median bound and exact greedy. */
  sharp: boolean;
}

const ALL_TYPES = ['F32', 'F16', 'BF16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];
const TWO_LAYER_TYPES = ['F32', 'BF16', 'Q4_0', 'Q8_0', 'Q4_K', 'Q6_K'];

const CASES: Case[] = [
  ...ALL_TYPES.map((t) => ({ label: `llama ${t}, 1 layer`, opts: { weightType: t, nLayer: 1 }, sharp: true })),
  ...TWO_LAYER_TYPES.map((t) => ({ label: `llama ${t}, 2 layers`, opts: { weightType: t }, sharp: false })),
  ...['F32', 'Q8_0', 'Q4_K'].map((t) => ({
    label: `qwen2 ${t}, 2 layers`, opts: { arch: 'qwen2' as const, weightType: t }, sharp: false,
  })),
  { label: 'llama Q8_0 tied output, 2 layers', opts: { weightType: 'Q8_0', tiedOutput: true }, sharp: false },
  {
    label: 'llama F32 rope base 500000, linear x4, 2 layers',
    opts: { weightType: 'F32', ropeFreqBase: 500_000, ropeLinearScale: 4 }, sharp: false,
  },
  // Grouped by type, so the models of one type are written one after another and share their tensors
  // (test/fixtures/synthetic-model.ts keeps what it encoded).
].sort((a, b) => ALL_TYPES.indexOf(a.opts.weightType) - ALL_TYPES.indexOf(b.opts.weightType));

/** Why a type cannot run yet (its codec or its activation codec is not registered), or undefined. */
function missingCodec(typeName: string): string | undefined {
  const id = typeLayoutByName(typeName)?.id;
  const traits = id === undefined ? undefined : quantTraits(id);
  if (!traits) return `${typeName} has no registered codec`;
  if (!quantTraits(traits.vecDotType)) return `${typeName}'s activation type has no registered codec`;
  return undefined;
}

test('synthetic 2048-wide models: logits and greedy continuation match llama.cpp', async (t) => {
  if (!requireReference(t)) return;
  t.diagnostic(`Hearth backend: ${parityBackend()}`);
  const rows: string[] = [];
  for (const c of CASES) {
    const type = c.opts.weightType ?? 'F32';
    const missing = missingCodec(type);
    await t.test(c.label, { skip: missing, todo: c.sharp ? TODO[type] : undefined }, (st) => {
      const t0 = performance.now();
      const path = syntheticModelPath(c.opts);
      const genMs = performance.now() - t0;
      const r = compareWithReference(path, [PROMPT], N_PREDICT, { nCtx: 64 });
      const vecDotId = quantTraits(typeLayoutByName(type)!.id)!.vecDotType;
      const b: SharpBounds = c.sharp
        ? sharpBounds(type, vecDotId, r.cpuVariant)
        : { max: LOOSE_MAX_NMSE[typeName(vecDotId)], allowNearTies: true, why: 'two layers: flips compound' };
      st.diagnostic(describeParity(c.label, r));
      st.diagnostic(`NMSE per step: ${r.prompts[0].nmse.map((e) => e.toExponential(1)).join(' ')}; bounds: ${describeBounds(b)}`);
      if (genMs > 1000) st.diagnostic(`model file generated in ${(genMs / 1000).toFixed(1)} s`);
      const p = r.prompts[0];
      const agree = p.hearthGreedy.filter((id, k) => id === p.refGreedy[k]).length;
      rows.push(`| ${c.label} | ${r.maxNmse.toExponential(2)} | ${r.medianNmse.toExponential(2)} | ` +
        `${agree}/${N_PREDICT}${p.nearTies.length ? ` (${p.nearTies.length} near-tie)` : ''} | ` +
        `${((r.refMs + r.hearthMs) / 1000).toFixed(1)} s |`);
      assertParity(c.label, r, b);
    });
  }
  for (const row of ['| model | max NMSE | median NMSE | greedy agree | llama.cpp + hearth time |', ...rows]) t.diagnostic(row);
});
