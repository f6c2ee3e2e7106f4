// The samplers that end a chain by choosing a position: greedy (argmax) and dist (a seeded random draw
// from the softmax of what is left).
import type { Candidates } from './candidates.ts';
import { Mt19937 } from './mt19937.ts';
import type { Sampler } from './sampler.ts';

/** Argmax; on equal logits the lowest token id wins (llama.cpp picks the first, which is the same on a fresh set). */
export class GreedySampler implements Sampler {
  readonly name = 'greedy';
  apply(c: Candidates): void {
    if (c.size === 0) {
      c.selected = -1;
      return;
    }
    const logits = c.logits;
    const ids = c.ids;
    let best = 0;
    for (let i = 1; i < c.size; i++) {
      if (logits[i] > logits[best] || (logits[i] === logits[best] && ids[i] < ids[best])) best = i;
    }
    c.selected = best;
  }
  clone(): GreedySampler {
    return new GreedySampler();
  }
}

/** A fresh random 32-bit seed. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/**
 * Draws a position with probability softmax(logits), leaving normalised probabilities in c.probs.
 * Same as llama.cpp's llama_sampler_dist: mt19937 seeded with `seed`, one uniform double per step (a single
 * candidate included), and the first position whose running sum of exp(logit - max) reaches sum * u.
 */
export class DistSampler implements Sampler {
  readonly name = 'dist';
  /** The seed given; undefined means a fresh random seed at construction and at every reset(). */
  readonly requestedSeed: number | undefined;
  /** The seed in use. */
  seed: number;
  private rng: Mt19937;

  constructor(seed?: number) {
    this.requestedSeed = seed === undefined ? undefined : seed >>> 0;
    this.seed = this.requestedSeed ?? randomSeed();
    this.rng = new Mt19937(this.seed);
  }

  apply(c: Candidates): void {
    const n = c.size;
    if (n === 0) {
      c.selected = -1;
      return;
    }
    c.selected = 0;
    if (n === 1) {
      this.rng.nextDouble(); // llama.cpp draws here too (keeping its stream aligned with backend sampling)
      c.probs[0] = 1;
      return;
    }
    const logits = c.logits;
    const probs = c.probs;
    const max = c.maxLogit();
    let sum = 0;
    for (let i = 0; i < n; i++) {
      probs[i] = max === -Infinity ? 1 : Math.exp(logits[i] - max);
      sum += probs[i];
    }
    const target = sum * this.rng.nextDouble();
    let run = 0;
    let found = false;
    for (let i = 0; i < n; i++) {
      if (!found) {
        run += probs[i];
        if (run >= target) {
          c.selected = i;
          found = true;
        }
      }
      probs[i] /= sum;
    }
    if (!found) c.selected = n - 1; // rounding: the target was above the last running sum
  }

  reset(): void {
    this.seed = this.requestedSeed ?? randomSeed();
    this.rng.seed(this.seed);
  }

  clone(): DistSampler {
    const s = new DistSampler(this.requestedSeed);
    s.seed = this.seed;
    s.rng = this.rng.clone();
    return s;
  }
}
