// Samplers that shift logits before truncation: repetition penalties over a window of recent tokens
// (llama.cpp's llama_sampler_penalties) and a fixed per-token logit bias (OpenAI `logit_bias`).
import type { Candidates } from './candidates.ts';
import type { Sampler } from './sampler.ts';

export interface PenaltyOptions {
  /** Window of most recent accepted tokens; 0 disables, -1 means every accepted token. */
  lastN: number;
  /** Divides positive logits and multiplies non-positive ones of tokens in the window; 1 = off. */
  repeat: number;
  /** Subtracted once per occurrence in the window. */
  frequency: number;
  /** Subtracted once if the token occurs in the window at all. */
  presence: number;
}

export class PenaltiesSampler implements Sampler {
  readonly name = 'penalties';
  private readonly lastN: number;
  private readonly repeat: number;
  private readonly frequency: number;
  private readonly presence: number;
  private readonly ring: Int32Array; // the window, oldest at `head` once full (unused when lastN = -1)
  private head = 0;
  private count = 0;
  private readonly counts = new Map<number, number>();

  constructor(opts: PenaltyOptions) {
    this.lastN = opts.lastN < 0 ? -1 : Math.floor(opts.lastN);
    // llama.cpp keeps these as float; rounding here keeps the arithmetic the same.
    this.repeat = Math.fround(opts.repeat);
    this.frequency = Math.fround(opts.frequency);
    this.presence = Math.fround(opts.presence);
    this.ring = new Int32Array(Math.max(this.lastN, 0));
  }

  accept(token: number): void {
    if (this.lastN === 0) return;
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    if (this.lastN < 0) return;
    if (this.count === this.lastN) {
      const old = this.ring[this.head];
      const left = this.counts.get(old)! - 1;
      if (left === 0) this.counts.delete(old);
      else this.counts.set(old, left);
      this.ring[this.head] = token;
      this.head = (this.head + 1) % this.lastN;
    } else {
      this.ring[(this.head + this.count) % this.lastN] = token;
      this.count++;
    }
  }

  apply(c: Candidates): void {
    if (this.lastN === 0 || this.counts.size === 0) return;
    if (this.repeat === 1 && this.frequency === 0 && this.presence === 0) return;
    const logits = c.logits;
    if (c.identity) {
      // Fresh full-vocabulary set: position = id, so visit only the penalised tokens.
      for (const [id, n] of this.counts) if (id >= 0 && id < c.size) logits[id] = this.penalise(logits[id], n);
    } else {
      for (let i = 0; i < c.size; i++) {
        const n = this.counts.get(c.ids[i]);
        if (n !== undefined) logits[i] = this.penalise(logits[i], n);
      }
    }
    c.sorted = false;
  }

  reset(): void {
    this.counts.clear();
    this.head = 0;
    this.count = 0;
  }

  clone(): PenaltiesSampler {
    const s = new PenaltiesSampler({
      lastN: this.lastN, repeat: this.repeat, frequency: this.frequency, presence: this.presence,
    });
    s.ring.set(this.ring);
    s.head = this.head;
    s.count = this.count;
    for (const [k, v] of this.counts) s.counts.set(k, v);
    return s;
  }

  private penalise(logit: number, n: number): number {
    const f = Math.fround;
    // Dividing a negative logit would make the token more likely, hence multiply below zero.
    const l = logit <= 0 ? f(logit * this.repeat) : f(logit / this.repeat);
    return f(l - f(f(n * this.frequency) + this.presence));
  }
}

export class LogitBiasSampler implements Sampler {
  readonly name = 'logit-bias';
  private readonly ids: Int32Array;
  private readonly bias: Float32Array;
  private readonly byId: Map<number, number>;

  /** Entries are [token id, value added to its logit]; -Infinity bans the token. */
  constructor(entries: Iterable<readonly [number, number]>) {
    this.byId = new Map();
    for (const [id, b] of entries) this.byId.set(id, (this.byId.get(id) ?? 0) + b);
    this.ids = Int32Array.from(this.byId.keys());
    this.bias = Float32Array.from(this.byId.values());
  }

  apply(c: Candidates): void {
    if (this.ids.length === 0) return;
    if (c.identity) {
      for (let j = 0; j < this.ids.length; j++) {
        const id = this.ids[j];
        if (id >= 0 && id < c.size) c.logits[id] += this.bias[j];
      }
    } else {
      for (let i = 0; i < c.size; i++) {
        const b = this.byId.get(c.ids[i]);
        if (b !== undefined) c.logits[i] += b;
      }
    }
    c.sorted = false;
  }

  clone(): LogitBiasSampler {
    return new LogitBiasSampler(this.byId);
  }
}
