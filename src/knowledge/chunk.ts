// Chunking as OpenAI's static strategy: windows of at most `maxTokens` tokens of the embedding model's
// tokenizer, each starting `maxTokens - overlap` tokens after the previous one. A chunk is a slice of the
// original text (never re-decoded tokens), cut at word boundaries: the text is split into words with their
// trailing whitespace, each word's token count is taken once (cached), and a chunk gathers whole words. Word
// by word is exact for WordPiece (BERT pre-tokenizes on whitespace and punctuation first) and close for BPE
// and SPM; a single word longer than a window is cut by characters.

import { HearthError } from '../util/errors.ts';

export interface ChunkingOptions {
  maxTokens: number;
  overlap: number;
}

export interface Chunk {
  text: string;
  /** Tokens in the chunk, as counted word by word. */
  tokens: number;
}

export const DEFAULT_MAX_CHUNK_TOKENS = 800;
export const DEFAULT_CHUNK_OVERLAP = 400;

/** Checks OpenAI's bounds: 100 ≤ max ≤ 4096, 0 ≤ overlap ≤ max / 2. */
export function checkChunking(o: ChunkingOptions): void {
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 100 || o.maxTokens > 4096) {
    throw new HearthError('invalid_argument', `max_chunk_size_tokens must be an integer from 100 to 4096; got ${o.maxTokens}`);
  }
  if (!Number.isInteger(o.overlap) || o.overlap < 0 || o.overlap > o.maxTokens / 2) {
    throw new HearthError('invalid_argument',
      `chunk_overlap_tokens must be an integer from 0 to half of max_chunk_size_tokens (${o.maxTokens / 2}); got ${o.overlap}`);
  }
}

interface Word {
  start: number;
  end: number;
  tokens: number;
}

function words(text: string, count: (s: string) => number, maxTokens: number): Word[] {
  const cache = new Map<string, number>();
  const out: Word[] = [];
  for (const m of text.matchAll(/\S+\s*/g)) {
    const w = m[0].trimEnd();
    let n = cache.get(w);
    if (n === undefined) {
      n = count(w);
      if (cache.size < 100_000) cache.set(w, n);
    }
    const start = m.index;
    if (n <= maxTokens) {
      out.push({ start, end: start + m[0].length, tokens: n });
      continue;
    }
    // A run longer than a window (a base64 blob, a minified line): cut it in pieces of proportional length.
    const pieces = Math.ceil(n / maxTokens);
    const len = Math.ceil(m[0].length / pieces);
    for (let s = 0; s < m[0].length; s += len) {
      const e = Math.min(m[0].length, s + len);
      out.push({ start: start + s, end: start + e, tokens: Math.min(maxTokens, Math.max(1, count(m[0].slice(s, e).trimEnd()))) });
    }
  }
  return out;
}

/** The chunks of `text`, in order; none for text without a word. */
export function chunkText(text: string, count: (s: string) => number, o: ChunkingOptions): Chunk[] {
  const ws = words(text, count, o.maxTokens);
  const out: Chunk[] = [];
  let i = 0;
  while (i < ws.length) {
    let tokens = 0;
    let j = i;
    while (j < ws.length && tokens + ws[j].tokens <= o.maxTokens) tokens += ws[j++].tokens;
    if (j === i) j = i + 1;
    out.push({ text: text.slice(ws[i].start, ws[j - 1].end).trimEnd(), tokens });
    if (j >= ws.length) break;
    // The next window starts where the last `overlap` tokens of this one begin (always at least one word on).
    let back = 0;
    let k = j;
    while (k > i + 1 && back + ws[k - 1].tokens <= o.overlap) back += ws[--k].tokens;
    i = k;
  }
  return out;
}
