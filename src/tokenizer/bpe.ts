// Byte-level BPE for GGUF vocabularies (llama.cpp `llm_tokenizer_bpe`): split the text with the
// pre-tokenizer regexes chosen by tokenizer.ggml.pre, map each word's UTF-8 bytes to the GPT-2
// byte alphabet, then merge by rank.
import { HearthError } from '../util/errors.ts';
import type { Vocab } from './vocab.ts';
import { BpeModel } from './bpe-model.ts';
import { preTokenizerConfig, type PreTokenizerConfig } from './pre-tokenizers.ts';
import { compileSplitRegex, regexSplit } from './regex-split.ts';
import { byteLevelEncode } from './byte-level.ts';

/** Splits GGUF merge lines "a b" at the first space after the first character (as llama.cpp). */
export function* parseMergeLines(lines: string[]): Iterable<[string, string]> {
  for (const m of lines) {
    const p = m.indexOf(' ', 1);
    if (p < 0) {
      throw new HearthError('tokenizer_invalid', `BPE merge "${m}" has no space between its two parts`);
    }
    yield [m.slice(0, p), m.slice(p + 1)];
  }
}

const CACHE_MAX = 1 << 17;

export class BpeEncoder {
  /** Pre-tokenized word -> ids (before byte-level mapping, so hits skip it). */
  private readonly cache = new Map<string, number[]>();
  private readonly cfg: PreTokenizerConfig;
  private readonly regexes: RegExp[];
  private readonly model: BpeModel;
  private readonly vocab: Vocab;

  constructor(vocab: Vocab) {
    this.vocab = vocab;
    this.cfg = preTokenizerConfig(vocab.pre);
    this.regexes = this.cfg.regexes.map(compileSplitRegex);
    this.model = new BpeModel(vocab.tokenToId, vocab.size, parseMergeLines(vocab.merges), {
      ignoreMerges: vocab.flags.ignoreMerges,
      unknown: this.cfg.byteEncode ? 'ascii-bytes' : 'hex-bytes',
    });
  }

  encode(text: string, out: number[]): void {
    const src = this.cfg.escapeWhitespaces ? text.replaceAll(' ', '\u2581') : text;
    const words = regexSplit(src, this.regexes);
    const byteEncode = this.cfg.byteEncode;
    const map = this.vocab.tokenToId;
    for (const w of words) {
      const hit = this.cache.get(w);
      if (hit !== undefined) {
        for (let k = 0; k < hit.length; k++) out.push(hit[k]);
        continue;
      }
      const res: number[] = [];
      this.encodeWord(w, byteEncode, map, res);
      if (w.length <= 128) {
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(w, res);
      }
      for (let k = 0; k < res.length; k++) out.push(res[k]);
    }
  }

  private encodeWord(w: string, byteEncode: boolean, map: Map<string, number>, out: number[]): void {
    if (byteEncode) {
      this.model.mergeWord(byteLevelEncode(w), out);
      return;
    }
    // Gemma 4: a run of newlines that is itself a token is taken whole.
    if (w.charCodeAt(0) === 10 && /^\n+$/.test(w)) {
      const id = map.get(w);
      if (id !== undefined) { out.push(id); return; }
    }
    this.model.encodeWord(w, out);
  }
}
