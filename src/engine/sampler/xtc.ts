// XTC, "exclude top choices" (llama.cpp's llama_sampler_xtc): with probability `probability` per step, every token
// whose probability is at least `threshold` is removed except the least likely of them, so the model is steered away
// from its most obvious continuations while one viable choice above the threshold stays. Its own mt19937 stream
// (seeded like the chain's dist) decides each step, one float draw per step with at least two candidates.
import type { Candidates } from './candidates.ts';
import { sortedSoftmaxF32 } from './float-softmax.ts';
import { Mt19937 } from './mt19937.ts';
import { randomSeed } from './select.ts';
import type { Sampler } from './sampler.ts';

export interface XtcOptions {
  /** Chance per step that the cut happens, in [0, 1]; 0 disables. */
  probability: number;
  /** Probability a token needs to be cut, in [0, 1]; above 0.5 disables (two tokens cannot both exceed it). */
  threshold: number;
  /** The cut happens only if at least this many candidates remain. Default 0. */
  minKeep?: number;
  /** 32-bit seed; a fresh random one when absent. */
  seed?: number;
}

export class XtcSampler implements Sampler {
  readonly name = 'xtc';
  readonly probability: number;
  readonly threshold: number;
  readonly minKeep: number;
  readonly requestedSeed: number | undefined;
  /** The seed of its own stream (not `seed`: the chain reports its dist's seed). */
  rngSeed: number;
  private rng: Mt19937;

  constructor(opts: XtcOptions) {
    this.probability = Math.fround(opts.probability);
    this.threshold = Math.fround(opts.threshold);
    this.minKeep = opts.minKeep ?? 0;
    this.requestedSeed = opts.seed === undefined ? undefined : opts.seed >>> 0;
    this.rngSeed = this.requestedSeed ?? randomSeed();
    this.rng = new Mt19937(this.rngSeed);
  }

  apply(c: Candidates): void {
    if (this.probability <= 0 || this.threshold > 0.5 || c.size < 2) return;
    if (this.rng.nextFloat() > this.probability) return;
    sortedSoftmaxF32(c);
    const p = c.probs;
    let last = 0; // the last (least likely) position at or above the threshold
    for (let i = 0; i < c.size && p[i] >= this.threshold; i++) last = i;
    if (last === 0 || c.size - last < this.minKeep) return;
    const n = c.size - last;
    const order = c.scratchOrder(n);
    for (let i = 0; i < n; i++) order[i] = last + i;
    c.permute(order, n);
  }

  reset(): void {
    this.rngSeed = this.requestedSeed ?? randomSeed();
    this.rng.seed(this.rngSeed);
  }

  clone(): XtcSampler {
    const s = new XtcSampler({ probability: this.probability, threshold: this.threshold, minKeep: this.minKeep, seed: this.requestedSeed });
    s.rngSeed = this.rngSeed;
    s.rng = this.rng.clone();
    return s;
  }
}
