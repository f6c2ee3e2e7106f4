// Hearth against llama.cpp on one model file: the same prompts through both, logits compared step by step.
//
// llama.cpp runs first (one process per model, every prompt in one request) and returns its greedy
// continuation with the logits of every step. Hearth is then fed llama.cpp's own tokens (teacher forcing),
// so the logits of every step are comparable even where the two would pick different tokens; Hearth's
// greedy continuation equals llama.cpp's exactly when its argmax agrees at every step.

import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { loadModel } from '../../src/engine/load.ts';
import { Context } from '../../src/engine/context.ts';
import type { BackendName } from '../../src/engine/types.ts';
import { referenceEvalWithInfo } from '../reference/client.ts';

/** sum((a - b)²) / sum(b²): the error of a relative to the reference b. */
export function nmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`nmse: lengths differ (${a.length} vs ${b.length})`);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    err += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  return err / ref;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

export function std(row: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < row.length; i++) {
    s += row[i];
    s2 += row[i] * row[i];
  }
  const mean = s / row.length;
  return Math.sqrt(Math.max(0, s2 / row.length - mean * mean));
}

/** Top-1 minus top-2 logit. */
export function topGap(row: ArrayLike<number>): number {
  let a = -Infinity;
  let b = -Infinity;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (v > a) {
      b = a;
      a = v;
    } else if (v > b) {
      b = v;
    }
  }
  return a - b;
}

export interface PromptParity {
  prompt: number[];
  /** llama.cpp's greedy continuation. */
  refGreedy: number[];
  /** Hearth's argmax at each step, fed llama.cpp's tokens before it. */
  hearthGreedy: number[];
  /** NMSE of Hearth's logits against llama.cpp's, per step (step 0 = last prompt position). */
  nmse: number[];
  /** std and top-1/top-2 gap of llama.cpp's logits per step: how meaningful the argmax comparison is. */
  logitStd: number[];
  topGap: number[];
  /** RMS of Hearth's logit error per step. */
  rmsError: number[];
  /**
   * Steps where Hearth's argmax differs from llama.cpp's but llama.cpp itself scores Hearth's token within
   * NEAR_TIE_RMS x the step's RMS logit error of its own pick: the two are tied at the precision of the
   * comparison, and which one wins is decided by rounding.
   */
  nearTies: number[];
}

/** A differing argmax counts as a near-tie when llama.cpp's margin is below this many RMS logit errors. */
export const NEAR_TIE_RMS = 4;

export interface ModelParity {
  prompts: PromptParity[];
  /** The ggml CPU library llama.cpp ran on (see test/reference/cpu-variant.ts). */
  cpuVariant: string;
  refMs: number;
  hearthMs: number;
  maxNmse: number;
  /** Median over every step of every prompt: the typical agreement, apart from rare rounding cascades. */
  medianNmse: number;
  /** A quarter of the steps are at most this: what holds when rare rounding flips hit up to half of them. */
  lowerQuartileNmse: number;
  greedyMatch: boolean;
}

export interface ParityOptions {
  /** Context size for both engines (prompt + continuation must fit). Default 128. */
  nCtx?: number;
  /** Reference CPU threads. Default 1. */
  threads?: number;
  /**
   * Hearth's backend. Default: HEARTH_PARITY_BACKEND, else 'ref', the plain-TypeScript oracle every fast
   * backend is checked against (HEARTH_PARITY_BACKEND=cpu runs the same parity suite on the wasm backend).
   */
  backend?: BackendName;
  /** Run Hearth on this file instead (contrast checks: how far apart two different models are). */
  hearthModel?: string;
}

export function parityBackend(): BackendName {
  return (process.env.HEARTH_PARITY_BACKEND || 'ref') as BackendName;
}

/** Run every prompt through llama.cpp, then through Hearth with llama.cpp's tokens, on the file at `path`. */
export function compareWithReference(path: string, prompts: number[][], nPredict: number, opts: ParityOptions = {}): ModelParity {
  const nCtx = opts.nCtx ?? 128;
  let t0 = performance.now();
  const { info, evals: ref } = referenceEvalWithInfo(
    { model: path, threads: opts.threads ?? 1, nCtx },
    prompts.map((tokens) => ({ tokens, nPredict, logitSteps: nPredict })),
  );
  const refMs = performance.now() - t0;

  t0 = performance.now();
  const model = loadModel(opts.hearthModel ?? path, { nCtx, backend: opts.backend ?? parityBackend() });
  const out: PromptParity[] = prompts.map((prompt, i) => {
    const r = ref[i];
    const ctx = new Context(model);
    const p: PromptParity = {
      prompt, refGreedy: r.greedy, hearthGreedy: [], nmse: [], logitStd: [], topGap: [], rmsError: [], nearTies: [],
    };
    let logits = ctx.eval(prompt);
    for (let k = 0; k < nPredict; k++) {
      const want = r.stepLogits[k];
      const pick = argmax(logits);
      const rms = Math.sqrt(nmse(logits, want) * meanSquare(want));
      p.hearthGreedy.push(pick);
      p.nmse.push(nmse(logits, want));
      p.rmsError.push(rms);
      if (pick !== r.greedy[k] && want[r.greedy[k]] - want[pick] < NEAR_TIE_RMS * rms) p.nearTies.push(k);
      p.logitStd.push(std(want));
      p.topGap.push(topGap(want));
      if (k + 1 < nPredict) logits = ctx.eval([r.greedy[k]]);
    }
    return p;
  });
  const hearthMs = performance.now() - t0;
  const all = out.flatMap((p) => p.nmse).sort((a, b) => a - b);
  return {
    prompts: out,
    cpuVariant: info.cpuVariant,
    refMs,
    hearthMs,
    maxNmse: all[all.length - 1],
    medianNmse: all[Math.floor(all.length / 2)],
    lowerQuartileNmse: all[Math.floor(all.length / 4)],
    greedyMatch: out.every((p) => p.hearthGreedy.every((id, k) => id === p.refGreedy[k])),
  };
}

/** One line per model for t.diagnostic and the report table. */
export function describeParity(label: string, r: ModelParity): string {
  const stds = r.prompts.flatMap((p) => p.logitStd);
  const gaps = r.prompts.flatMap((p) => p.topGap).sort((a, b) => a - b);
  const steps = r.prompts.reduce((n, p) => n + p.nmse.length, 0);
  const agree = r.prompts.reduce((n, p) => n + p.hearthGreedy.filter((id, k) => id === p.refGreedy[k]).length, 0);
  const ties = r.prompts.reduce((n, p) => n + p.nearTies.length, 0);
  return `${label}: NMSE max ${r.maxNmse.toExponential(2)} median ${r.medianNmse.toExponential(2)}; ` +
    `greedy ${agree}/${steps} steps agree${ties ? ` (${ties} near-tie)` : ''}; llama.cpp on ggml-cpu-${r.cpuVariant}; logit std ${mean(stds).toFixed(2)}, smallest top-1/top-2 gap ${gaps[0].toFixed(3)}; ` +
    `llama.cpp ${(r.refMs / 1000).toFixed(1)} s, hearth ${(r.hearthMs / 1000).toFixed(1)} s`;
}

function meanSquare(row: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += row[i] * row[i];
  return s / row.length;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export interface ParityBounds {
  /** Every step's NMSE must be at most this. */
  max: number;
  /** The median step's NMSE must be at most this (default: no median check). */
  median?: number;
  /** The lower-quartile step's NMSE must be at most this (default: no check). */
  lowerQuartile?: number;
  /** Excuse argmax differences that are near-ties (see PromptParity.nearTies). Default false: exact. */
  allowNearTies?: boolean;
}

/** The assertions for one model: NMSE bounds, then the same greedy token at every step. */
export function assertParity(label: string, r: ModelParity, b: ParityBounds): void {
  assert.ok(r.maxNmse <= b.max, `${label}: max NMSE ${r.maxNmse.toExponential(3)} > ${b.max}`);
  if (b.median !== undefined) {
    assert.ok(r.medianNmse <= b.median, `${label}: median NMSE ${r.medianNmse.toExponential(3)} > ${b.median}`);
  }
  if (b.lowerQuartile !== undefined) {
    assert.ok(r.lowerQuartileNmse <= b.lowerQuartile,
      `${label}: lower-quartile NMSE ${r.lowerQuartileNmse.toExponential(3)} > ${b.lowerQuartile}`);
  }
  for (const [i, p] of r.prompts.entries()) {
    const excused = new Set(b.allowNearTies ? p.nearTies : []);
    const differs = p.hearthGreedy.flatMap((id, k) => (id !== p.refGreedy[k] && !excused.has(k) ? [k] : []));
    assert.deepEqual(differs, [], `${label}, prompt ${i}: greedy token differs from llama.cpp at steps ${differs.join(', ')} ` +
      `(hearth ${JSON.stringify(p.hearthGreedy)}, llama.cpp ${JSON.stringify(p.refGreedy)}, ` +
      `top-1/top-2 gaps ${p.topGap.map((g) => g.toFixed(3)).join(' ')}, RMS logit error ${p.rmsError.map((e) => e.toExponential(1)).join(' ')})`);
  }
}
