// Temperature scaling: logits / t flattens (t > 1) or sharpens (t < 1) the distribution. t <= 0 keeps only
// the most likely token (the first on ties) by setting every other logit to -Inf, as llama.cpp does.
import type { Candidates } from './candidates.ts';
import type { Sampler } from './sampler.ts';

export class TemperatureSampler implements Sampler {
  readonly name = 'temperature';
  readonly t: number;
  constructor(t: number) {
    this.t = Math.fround(t);
  }
  apply(c: Candidates): void {
    const logits = c.logits;
    if (this.t <= 0) {
      let best = 0;
      for (let i = 1; i < c.size; i++) {
        if (logits[i] > logits[best]) {
          logits[best] = -Infinity;
          best = i;
        } else {
          logits[i] = -Infinity;
        }
      }
      return;
    }
    if (this.t === 1) return;
    for (let i = 0; i < c.size; i++) logits[i] /= this.t;
  }
  clone(): TemperatureSampler {
    return new TemperatureSampler(this.t);
  }
}
