// Samplers that drop unlikely candidates: top-k, top-p (nucleus), min-p and locally typical sampling,
// with llama.cpp's boundary rules. None renormalises: probabilities are recomputed by whoever needs them.
import type { Candidates } from './candidates.ts';
import type { Sampler } from './sampler.ts';

/** Keeps the k highest logits, sorted; k <= 0 keeps everything. */
export class TopKSampler implements Sampler {
  readonly name = 'top-k';
  readonly k: number;
  constructor(k: number) {
    this.k = Math.floor(k);
  }
  apply(c: Candidates): void {
    if (this.k <= 0 || c.size === 0) return;
    const k = Math.min(this.k, c.size);
    c.sortTop(k);
    c.size = k;
    c.sorted = true;
  }
  clone(): TopKSampler {
    return new TopKSampler(this.k);
  }
}

/**
 * Keeps the smallest most-likely prefix whose cumulative probability reaches p (the token that crosses p
 * is kept: `cum >= p`), and at least minKeep tokens. p >= 1 keeps everything.
 */
export class TopPSampler implements Sampler {
  readonly name = 'top-p';
  readonly p: number;
  readonly minKeep: number;
  constructor(p: number, minKeep = 0) {
    this.p = Math.fround(p);
    this.minKeep = minKeep;
  }
  apply(c: Candidates): void {
    if (this.p >= 1 || c.size === 0) return;
    c.softmax(false);
    const n = c.size;
    // Usually a few hundred candidates cover p: sort only a prefix holding that mass, and everything
    // only if rounding leaves it short.
    let sortedLen = n > 1024 ? c.sortTopMass(this.p) : c.sortTop(n);
    let cum = 0;
    let last = n;
    for (let i = 0; i < n; i++) {
      if (i === sortedLen) sortedLen = c.sortTop(n);
      cum = Math.fround(cum + c.probs[i]);
      if (cum >= this.p && i + 1 >= this.minKeep) {
        last = i + 1;
        break;
      }
    }
    c.size = last;
    c.sorted = true;
  }
  clone(): TopPSampler {
    return new TopPSampler(this.p, this.minKeep);
  }
}

/**
 * Keeps tokens whose probability is at least p times the most likely one's, computed in logit space as
 * llama.cpp does: logit >= max + ln p (inclusive). The relative order of kept tokens is preserved.
 */
export class MinPSampler implements Sampler {
  readonly name = 'min-p';
  readonly p: number;
  readonly minKeep: number;
  constructor(p: number, minKeep = 0) {
    this.p = Math.fround(p);
    this.minKeep = minKeep;
  }
  apply(c: Candidates): void {
    if (this.p <= 0 || c.size === 0) return;
    const f = Math.fround;
    const minLogit = f(c.maxLogit() + f(Math.log(this.p)));
    const logits = c.logits;
    let kept = 0;
    for (let i = 0; i < c.size; i++) if (logits[i] >= minLogit) kept++;
    if (kept < this.minKeep) {
      // Not enough pass the bar: take the best minKeep in order.
      c.sortTop(c.size);
      c.size = Math.min(c.size, Math.max(kept, this.minKeep));
      return;
    }
    if (kept === c.size) return;
    // Stable in-place compaction; a sorted prefix stays sorted and identity is lost.
    const ids = c.ids;
    let j = 0;
    for (let i = 0; i < c.size; i++) {
      if (logits[i] >= minLogit) {
        ids[j] = ids[i];
        logits[j] = logits[i];
        j++;
      }
    }
    c.size = j;
    c.identity = false;
  }
  clone(): MinPSampler {
    return new MinPSampler(this.p, this.minKeep);
  }
}

/**
 * Locally typical sampling (Meister et al. 2022): orders tokens by |-ln p - H| (closeness of their
 * information content to the entropy H) and keeps them until the cumulative probability exceeds p
 * (strictly, as llama.cpp). The result is in that order, not by logit. p >= 1 keeps everything.
 */
export class TypicalSampler implements Sampler {
  readonly name = 'typical';
  readonly p: number;
  readonly minKeep: number;
  private shifted = new Float32Array(0);
  constructor(p: number, minKeep = 0) {
    this.p = Math.fround(p);
    this.minKeep = minKeep;
  }
  apply(c: Candidates): void {
    if (this.p >= 1 || c.size === 0) return;
    c.softmax(true);
    const n = c.size;
    const probs = c.probs;
    let entropy = 0;
    for (let i = 0; i < n; i++) if (probs[i] > 0) entropy -= probs[i] * Math.log(probs[i]);
    if (this.shifted.length < n) this.shifted = new Float32Array(n);
    const shifted = this.shifted;
    for (let i = 0; i < n; i++) shifted[i] = Math.abs(-Math.log(probs[i]) - entropy);
    const order = c.scratchOrder(n).subarray(0, n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => (shifted[a] !== shifted[b] ? shifted[a] - shifted[b] : a - b));
    let cum = 0;
    let last = n;
    for (let i = 0; i < n; i++) {
      cum = Math.fround(cum + probs[order[i]]);
      if (cum > this.p && (this.minKeep === 0 || i >= this.minKeep - 1)) {
        last = i + 1;
        break;
      }
    }
    c.permute(order, last);
    c.sorted = false;
  }
  clone(): TypicalSampler {
    return new TypicalSampler(this.p, this.minKeep);
  }
}
