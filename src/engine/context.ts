// A context: one sequence's KV cache and the tokens it holds, over a loaded model.

import { HearthError } from '../util/errors.ts';
import type { KVCache } from '../model/types.ts';
import type { LoadedModel } from './load.ts';

/** Length of the common prefix of two token lists (how much of a cached context a prompt can reuse). */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class Context {
  readonly model: LoadedModel;
  readonly cache: KVCache;
  readonly nBatch: number;
  /** Tokens whose K/V are in the cache, in order. */
  readonly tokens: number[] = [];

  constructor(model: LoadedModel) {
    this.model = model;
    this.cache = model.createCache(model.nCtx);
    this.nBatch = model.options.nBatch ?? 512;
  }

  /** Return the KV cache's memory now; idempotent. The context cannot evaluate afterwards. */
  dispose(): void {
    this.cache.dispose();
  }

  get disposed(): boolean {
    return this.cache.disposed;
  }

  private live(): void {
    if (this.cache.disposed) throw new HearthError('invalid_argument', 'this context has been disposed');
  }

  get nCtx(): number {
    return this.cache.nCtx;
  }

  get nPast(): number {
    return this.tokens.length;
  }

  /**
   * How many of the first n cached tokens (n at most nPast, e.g. a prompt's common prefix) a request can keep:
   * n itself when evaluation can resume at position n, else 0. Full layers can always resume; a sliding-window
   * layer's ring (../model/kv-cache.ts) must still hold the window before position n, which later tokens of an
   * earlier request may have overwritten (a ring of R rows holds only the last R positions written). The rule is
   * the cache's canResume: max(0, n - W + 1) >= written - R for every ring layer.
   */
  reusable(n: number): number {
    const k = Math.max(0, Math.min(n, this.tokens.length));
    return this.cache.canResume(k) ? k : 0;
  }

  /**
   * Forget everything after the first n tokens (prompt-prefix reuse). n must be reusable (see reusable()): a prefix
   * whose window a ring has overwritten cannot be kept, and asking for it is an error.
   */
  truncate(n: number): void {
    const k = Math.min(n, this.tokens.length);
    if (this.reusable(k) !== k) {
      throw new HearthError('invalid_argument', `the cached prefix of ${k} tokens cannot be reused: a sliding-window layer ` +
        `has overwritten the positions it needs (Context.reusable gives what can be kept)`);
    }
    this.tokens.length = k;
  }

  /**
   * Append tokens and return the logits after the last one ([nVocab]), or after each one with `allLogits`
   * ([tokens.length, nVocab]). Prefill runs in batches of nBatch tokens.
   */
  eval(tokens: readonly number[], allLogits = false): Float32Array {
    if (tokens.length === 0) throw new HearthError('invalid_argument', 'eval: no tokens');
    this.live();
    if (this.nPast + tokens.length > this.nCtx) {
      throw new HearthError('context_length_exceeded',
        `${this.nPast + tokens.length} tokens do not fit in the context window of ${this.nCtx} tokens` +
        (this.nPast ? ` (${this.nPast} already in use)` : ''));
    }
    const nVocab = this.model.hp.nVocab;
    if (tokens.length <= this.nBatch) {
      // one pass: its logits are the result, no copy
      const logits = this.model.forward.forward(tokens, this.nPast, this.cache, allLogits);
      this.tokens.push(...tokens);
      return logits;
    }
    const out = new Float32Array((allLogits ? tokens.length : 1) * nVocab);
    for (let i = 0; i < tokens.length; i += this.nBatch) {
      const chunk = tokens.slice(i, i + this.nBatch);
      const last = i + chunk.length === tokens.length;
      const logits = this.model.forward.forward(chunk, this.nPast, this.cache, allLogits);
      this.tokens.push(...chunk);
      if (allLogits) out.set(logits, i * nVocab);
      else if (last) out.set(logits);
    }
    return out;
  }
}

/**
 * One context's share of a batch: tokens, or embedding rows (an image) fed in place of their token rows, with
 * `tokens` then the placeholder ids the context records for them (prefix reuse compares those).
 */
export interface BatchItem {
  ctx: Context;
  tokens: readonly number[];
  embeddings?: Float32Array;
}

/**
 * One forward pass over several contexts of the same model (continuous batching): each item's tokens are
 * appended to its own context. Returns the logits after each item's last token, in order.
 */
export function evalBatch(items: readonly BatchItem[]): Float32Array[] {
  if (items.length === 0) return [];
  const model = items[0].ctx.model;
  for (const { ctx, tokens } of items) {
    if (ctx.model !== model) throw new HearthError('invalid_argument', 'evalBatch: every context must belong to the same model');
    if (ctx.disposed) throw new HearthError('invalid_argument', 'evalBatch: a context has been disposed');
    if (ctx.nPast + tokens.length > ctx.nCtx) {
      throw new HearthError('context_length_exceeded', `${ctx.nPast + tokens.length} tokens do not fit in the context window of ${ctx.nCtx} tokens`);
    }
  }
  if (new Set(items.map((i) => i.ctx)).size !== items.length) throw new HearthError('invalid_argument', 'evalBatch: a context appears twice');
  const logits = model.forward.forwardBatch(items.map(({ ctx, tokens, embeddings }) => (embeddings
    ? { embeddings, pos0: ctx.nPast, cache: ctx.cache }
    : { tokens, pos0: ctx.nPast, cache: ctx.cache })));
  const nVocab = model.hp.nVocab;
  return items.map(({ ctx, tokens }, i) => {
    ctx.tokens.push(...tokens);
    return logits.subarray(i * nVocab, (i + 1) * nVocab);
  });
}
