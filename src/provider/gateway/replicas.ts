// Which replica of a `type: hearth` provider answers a request. `round_robin` takes them in turn; `least_load` the
// one with the fewest requests in flight from this gateway; `prefix` (the default) the one that already served the
// longest prefix of the request's rendered conversation, so that the replica's prefix cache (the scheduler reuses
// the K/V of a slot whose tokens start the prompt) covers it, unless that replica has more than `maxImbalance`
// requests in flight beyond the least loaded one (then least load wins, as in SGLang's cache-aware router).
//
// The gateway has no tokenizer of the replicas, so prefixes are compared on characters: the request is rendered
// (model, tools, then each message's role and content) and hashed left to right; the running hash is kept at every
// `blockChars` characters and at the end of every message. Each checkpoint's hash stands for the whole text before
// it (a hash chain, like vLLM's block hashes), so a replica "holds" a prefix of length p when p's checkpoint is in
// its table. The table is a bounded LRU: what a replica served last is what its cache most likely still holds.

import type { NativeRequest, PromptInput } from '../../api/native.ts';

export const ROUTING = ['prefix', 'round_robin', 'least_load'] as const;
export type Routing = typeof ROUTING[number];

/** One checkpoint of a rendered request: the hash of its first `at` characters. */
export interface Checkpoint {
  at: number;
  hash: number;
}

const DEFAULT_BLOCK = 64;
const DEFAULT_ENTRIES = 65_536;

/**
 * Two FNV-1a hashes (32-bit, different offsets) over UTF-16 code units, run together; a checkpoint's hash is 53 bits
 * of the pair, a safe integer for a Map key.
 */
class PrefixHasher {
  private a = 0x811c9dc5;
  private b = 0x050c5d1f;
  at = 0;
  readonly out: Checkpoint[] = [];
  private readonly block: number;
  constructor(block: number) {
    this.block = block;
  }

  push(text: string): void {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      this.a = Math.imul(this.a ^ c, 0x01000193) >>> 0;
      this.b = Math.imul(this.b ^ c, 0x01000193) >>> 0;
      if (++this.at % this.block === 0) this.mark();
    }
  }

  /** A checkpoint here (the end of a message), unless one was just taken. */
  mark(): void {
    if (this.out.at(-1)?.at === this.at || this.at === 0) return;
    this.out.push({ at: this.at, hash: (this.a & 0x1fffff) * 0x100000000 + this.b });
  }
}

function render(h: PrefixHasher, p: PromptInput): void {
  switch (p.kind) {
    case 'chat':
      if (p.tools?.length) h.push(`\u0001${JSON.stringify(p.tools)}`);
      if (p.templateVars) h.push(`\u0002${JSON.stringify(p.templateVars)}`);
      for (const m of p.messages) {
        h.push(`${m.role}\u001f${m.content}`);
        if (m.toolCalls?.length) h.push(`\u001f${JSON.stringify(m.toolCalls)}`);
        if (m.toolCallId !== undefined) h.push(`\u001f${m.toolCallId}`);
        h.push('\u001e');
        h.mark();
      }
      return;
    case 'text':
      h.push(p.text);
      break;
    case 'tokens':
      h.push(p.tokens.join(','));
      break;
    case 'infill':
      h.push(p.prefix);
      break;
  }
  h.mark();
}

/** The checkpoints of `req` (its first prompt) for `model`, in order. */
export function prefixCheckpoints(req: NativeRequest, model: string, blockChars = DEFAULT_BLOCK): Checkpoint[] {
  const h = new PrefixHasher(blockChars);
  h.push(`${model}\u0000`);
  // the model name alone is no shared prefix
  h.out.length = 0;
  const p = req.prompts[0];
  if (p) render(h, p);
  return h.out;
}

/** Per-replica tables of the prefixes each one served. */
export class ReplicaRouter {
  readonly routing: Routing;
  readonly maxImbalance: number;
  private readonly tables: Map<number, true>[];
  private readonly maxEntries: number;
  private next = 0;

  constructor(replicas: number, routing: Routing, maxImbalance: number, o: { maxEntries?: number } = {}) {
    this.routing = routing;
    this.maxImbalance = maxImbalance;
    this.maxEntries = o.maxEntries ?? DEFAULT_ENTRIES;
    this.tables = Array.from({ length: replicas }, () => new Map());
  }

  /** Characters of the request's rendering that replica `r` served before (its longest checkpoint in the table). */
  matched(r: number, key: readonly Checkpoint[]): number {
    const t = this.tables[r]!;
    for (let i = key.length - 1; i >= 0; i--) if (t.has(key[i]!.hash)) return key[i]!.at;
    return 0;
  }

  /**
   * The replica for a request among `candidates` (indexes of replicas that may be asked now, non-empty), given every
   * replica's requests in flight.
   */
  choose(candidates: readonly number[], load: readonly number[], key: readonly Checkpoint[]): number {
    if (candidates.length === 1) return candidates[0]!;
    // candidates in turn from the round-robin position, so that ties spread
    const n = this.tables.length;
    const order = [...candidates].sort((x, y) => ((x - this.next + n) % n) - ((y - this.next + n) % n));
    const take = (r: number) => {
      this.next = (r + 1) % n;
      return r;
    };
    if (this.routing === 'round_robin') return take(order[0]!);
    const least = order.reduce((best, r) => (load[r]! < load[best]! ? r : best), order[0]!);
    if (this.routing === 'least_load') return take(least);
    let best = -1;
    let bestLen = 0;
    for (const r of order) {
      const len = this.matched(r, key);
      if (len > bestLen || (len === bestLen && len > 0 && load[r]! < load[best]!)) {
        best = r;
        bestLen = len;
      }
    }
    if (best < 0 || load[best]! > load[least]! + this.maxImbalance) return take(least);
    return best;
  }

  /** Replica `r` took the request: its checkpoints become the newest of its table. */
  record(r: number, key: readonly Checkpoint[]): void {
    const t = this.tables[r]!;
    for (const c of key) {
      t.delete(c.hash);
      t.set(c.hash, true);
    }
    while (t.size > this.maxEntries) t.delete(t.keys().next().value!);
  }

  /** Checkpoints held per replica (health and tests). */
  sizes(): number[] {
    return this.tables.map((t) => t.size);
  }
}
