// Mirostat (Basu et al. 2021), the samplers that steer each token's surprise (-log2 p) towards a target tau by
// adapting a truncation bound mu after every draw, as llama.cpp's llama_sampler_mirostat and _v2. Both select the
// token; mu starts at 2 * tau and lives in the sampler, so one chain per sequence keeps one mu.
import type { Candidates } from './candidates.ts';
import { discreteDraw, sortedSoftmaxF32 } from './float-softmax.ts';
import { Mt19937 } from './mt19937.ts';
import { randomSeed } from './select.ts';
import type { Sampler } from './sampler.ts';

const f = Math.fround;

export interface MirostatOptions {
  /** Target surprise in bits. llama.cpp's default 5. */
  tau: number;
  /** Learning rate of mu. llama.cpp's default 0.1. */
  eta: number;
  /** 32-bit seed; a fresh random one when absent. */
  seed?: number;
}

/** Truncating int(k) as x86 does for a float out of int range (and NaN): INT_MIN. */
function toInt32(k: number): number {
  return Number.isFinite(k) && k > -2147483649 && k < 2147483648 ? Math.trunc(k) : -2147483648;
}

abstract class MirostatBase implements Sampler {
  abstract readonly name: string;
  readonly tau: number;
  readonly eta: number;
  readonly requestedSeed: number | undefined;
  seed: number;
  /** The current truncation bound (bits). */
  mu: number;
  protected rng: Mt19937;

  constructor(opts: MirostatOptions) {
    this.tau = f(opts.tau);
    this.eta = f(opts.eta);
    this.requestedSeed = opts.seed === undefined ? undefined : opts.seed >>> 0;
    this.seed = this.requestedSeed ?? randomSeed();
    this.rng = new Mt19937(this.seed);
    this.mu = f(2 * this.tau);
  }

  abstract apply(c: Candidates): void;
  abstract clone(): Sampler;

  reset(): void {
    this.mu = f(2 * this.tau);
    this.seed = this.requestedSeed ?? randomSeed();
    this.rng.seed(this.seed);
  }

  /** Draws from the (renormalised, sorted) candidates, selects, and moves mu by eta times the surprise error. */
  protected draw(c: Candidates): void {
    sortedSoftmaxF32(c);
    const idx = discreteDraw(c.probs, c.size, this.rng);
    c.selected = idx;
    const surprise = f(-Math.log2(c.probs[idx]));
    const e = f(surprise - this.tau);
    this.mu = f(this.mu - f(this.eta * e));
  }

  protected copyState(to: MirostatBase): void {
    to.seed = this.seed;
    to.mu = this.mu;
    to.rng = this.rng.clone();
  }
}

/**
 * Mirostat 1: estimates the Zipf exponent s from the m most likely tokens, turns mu into a top-k bound
 * k = (eps * 2^mu / (1 - N^-eps))^(1/s) with eps = s - 1 and N the vocabulary size, and draws from those k.
 */
export class MirostatSampler extends MirostatBase {
  readonly name = 'mirostat';
  /** Tokens used to estimate s (llama.cpp uses 100). */
  readonly m: number;
  /** The vocabulary size N; 0 takes the candidate count at the first apply (the full vocabulary in llama.cpp's chain). */
  private nVocab: number;

  constructor(opts: MirostatOptions & { m?: number; nVocab?: number }) {
    super(opts);
    this.m = opts.m ?? 100;
    this.nVocab = opts.nVocab ?? 0;
  }

  apply(c: Candidates): void {
    if (c.size === 0) {
      c.selected = -1;
      return;
    }
    if (this.nVocab === 0) this.nVocab = c.size;
    sortedSoftmaxF32(c);
    const p = c.probs;
    let sumTiBi = 0;
    let sumTiSq = 0;
    for (let i = 0; i < this.m - 1 && i < c.size - 1; i++) {
      const ti = f(Math.log(f(f(i + 2) / f(i + 1))));
      const bi = f(Math.log(f(p[i] / p[i + 1])));
      sumTiBi = f(sumTiBi + f(ti * bi));
      sumTiSq = f(sumTiSq + f(ti * ti));
    }
    const sHat = f(sumTiBi / sumTiSq);
    const epsHat = f(sHat - 1);
    const num = f(epsHat * f(Math.pow(2, this.mu)));
    const den = f(1 - f(Math.pow(f(this.nVocab), -epsHat)));
    const k = f(Math.pow(f(num / den), f(1 / sHat)));
    const keep = Math.max(toInt32(k), 1);
    if (keep < c.size) c.size = keep;
    this.draw(c);
  }

  clone(): MirostatSampler {
    const s = new MirostatSampler({ tau: this.tau, eta: this.eta, seed: this.requestedSeed, m: this.m, nVocab: this.nVocab });
    this.copyState(s);
    return s;
  }
}

/** Mirostat 2: keeps the most likely tokens whose surprise is at most mu (at least one) and draws from them. */
export class MirostatV2Sampler extends MirostatBase {
  readonly name = 'mirostat-v2';

  apply(c: Candidates): void {
    if (c.size === 0) {
      c.selected = -1;
      return;
    }
    sortedSoftmaxF32(c);
    const p = c.probs;
    let keep = 0;
    while (keep < c.size && !(f(-Math.log2(p[keep])) > this.mu)) keep++;
    c.size = Math.max(keep, 1);
    this.draw(c);
  }

  clone(): MirostatV2Sampler {
    const s = new MirostatV2Sampler({ tau: this.tau, eta: this.eta, seed: this.requestedSeed });
    this.copyState(s);
    return s;
  }
}
