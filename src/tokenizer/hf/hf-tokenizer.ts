// A Tokenizer built from a Hugging Face tokenizer.json (+ tokenizer_config.json): added tokens,
// normalizer, pre-tokenizer, BPE model, post-processor (BOS/EOS) and decoder.
import { HearthError } from '../../util/errors.ts';
import type { Tokenizer, EncodeOptions, DecodeOptions, StreamDecoder, StreamDecoderOptions } from '../types.ts';
import { BpeModel } from '../bpe-model.ts';
import { byteLevelEncode } from '../byte-level.ts';
import { ByteSink, PieceStreamDecoder } from '../decode.ts';
import { AddedTokenMatcher, type AddedToken } from './added-tokens.ts';
import { buildNormalizer, type Normalizer } from './normalizers.ts';
import { buildPreTokenizer, type PreTokenizer } from './pre-tokenizers.ts';
import { buildDecoder, type DecoderPlan } from './decoders.ts';
import { postProcessorSpecials, cleanUpTokenization, EOG_TEXTS } from './post-process.ts';
import { WordPieceModel } from './wordpiece-model.ts';

type Json = Record<string, unknown>;

const utf8dec = new TextDecoder('utf-8');
const EMPTY = new Uint8Array(0);
const CACHE_MAX = 1 << 17;

function invalid(msg: string): HearthError {
  return new HearthError('tokenizer_invalid', `tokenizer.json: ${msg}`);
}

/** The text of a tokenizer_config.json token entry: a string or an AddedToken object. */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

export class HFTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** Jinja chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | undefined;
  private readonly idToText: string[];
  private readonly textToId = new Map<string, number>();
  private readonly specialIds = new Set<number>();
  private readonly eog = new Set<number>();
  private readonly added: AddedTokenMatcher;
  /** tokenizer_config.json split_special_tokens: special-token text goes to the model as text. */
  private readonly splitSpecialTokens: boolean;
  private readonly normalizer: Normalizer | undefined;
  private readonly pre: PreTokenizer;
  private readonly model: BpeModel | WordPieceModel;
  private readonly dec: DecoderPlan;
  private readonly cleanSpacesDefault: boolean;
  private readonly pieces: (Uint8Array | undefined)[];
  private readonly prefixIds: number[];
  private readonly suffixIds: number[];
  /** Raw word -> ids, when the pre-tokenizer leaves the byte-level mapping to us. */
  private readonly rawCache = new Map<string, number[]>();

  constructor(json: Json, config: Json = {}) {
    const model = json.model as Json | undefined;
    if (!model || typeof model !== 'object') throw invalid('no "model"');
    const type = model.type ?? (model.merges ? 'BPE' : undefined);
    if (type !== 'BPE' && type !== 'WordPiece') {
      throw invalid(`model type "${String(type)}" is not supported (BPE and WordPiece are)`);
    }
    const vocab = model.vocab as Record<string, number> | undefined;
    if (!vocab || typeof vocab !== 'object' || Array.isArray(vocab)) throw invalid('model.vocab must be an object of token -> id');
    if (type === 'BPE') {
      for (const k of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
        if (typeof model[k] === 'string' && model[k] !== '') throw invalid(`model.${k} is not supported for BPE`);
      }
    }

    const modelVocab = new Map<string, number>();
    let maxId = -1;
    for (const [t, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0) throw invalid(`vocab id of "${t}" is not a non-negative integer`);
      modelVocab.set(t, id);
      if (id > maxId) maxId = id;
    }
    const addedList: AddedToken[] = [];
    const rawAdded = (json.added_tokens ?? []) as Json[];
    if (!Array.isArray(rawAdded)) throw invalid('added_tokens must be a list');
    for (const a of rawAdded) {
      if (typeof a?.content !== 'string' || !Number.isInteger(a.id)) throw invalid('an added token lacks content or id');
      addedList.push({
        id: a.id as number, content: a.content, special: a.special === true,
        lstrip: a.lstrip === true, rstrip: a.rstrip === true, singleWord: a.single_word === true,
        // HF's default when the field is missing: special tokens match raw text, others normalized text.
        normalized: typeof a.normalized === 'boolean' ? a.normalized : a.special !== true,
      });
      if ((a.id as number) > maxId) maxId = a.id as number;
    }
    this.vocabSize = maxId + 1;
    this.idToText = new Array(this.vocabSize);
    for (const [t, id] of modelVocab) { this.idToText[id] = t; this.textToId.set(t, id); }
    for (const a of addedList) {
      this.idToText[a.id] = a.content;
      this.textToId.set(a.content, a.id);
      if (a.special) this.specialIds.add(a.id);
    }

    const unkText = typeof model.unk_token === 'string' ? model.unk_token : undefined;
    const unkId = unkText !== undefined ? modelVocab.get(unkText) ?? this.textToId.get(unkText) : undefined;
    if (type === 'WordPiece') {
      const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##';
      const maxChars = typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;
      this.model = new WordPieceModel(modelVocab, unkId, prefix, maxChars);
    } else {
      const merges = model.merges as unknown[] | undefined;
      if (!Array.isArray(merges)) throw invalid('model.merges must be a list');
      this.model = new BpeModel(modelVocab, this.vocabSize, parseMerges(merges), {
        ignoreMerges: model.ignore_merges === true,
        unknown: model.byte_fallback === true ? 'hex-bytes' : 'unk',
        unkId,
        fuseUnk: model.fuse_unk === true,
      });
    }

    this.normalizer = buildNormalizer(json.normalizer);
    this.added = new AddedTokenMatcher(addedList, this.normalizer);
    this.splitSpecialTokens = config.split_special_tokens === true;
    this.pre = buildPreTokenizer(json.pre_tokenizer);
    this.dec = buildDecoder(json.decoder);

    // BOS/EOS: tokenizer_config.json's add_bos_token/add_eos_token win over the post-processor.
    const pp = postProcessorSpecials(json.post_processor, (t) => this.textToId.get(t));
    const bosText = tokenText(config.bos_token);
    const eosText = tokenText(config.eos_token);
    const bosId = bosText !== undefined ? this.textToId.get(bosText) : undefined;
    const eosId = eosText !== undefined ? this.textToId.get(eosText) : undefined;
    this.bosId = bosId ?? pp.prefix[0] ?? -1;
    this.eosId = eosId ?? pp.suffix[pp.suffix.length - 1] ?? -1;
    if (typeof config.add_bos_token === 'boolean') this.prefixIds = config.add_bos_token && this.bosId >= 0 ? [this.bosId] : [];
    else this.prefixIds = pp.prefix;
    if (typeof config.add_eos_token === 'boolean') this.suffixIds = config.add_eos_token && this.eosId >= 0 ? [this.eosId] : [];
    else this.suffixIds = pp.suffix;
    this.addBos = this.prefixIds.length > 0;
    this.addEos = this.suffixIds.length > 0;
    this.cleanSpacesDefault = typeof config.clean_up_tokenization_spaces === 'boolean'
      ? config.clean_up_tokenization_spaces : this.dec.cleanup;

    if (this.eosId >= 0) this.eog.add(this.eosId);
    for (const a of addedList) if (EOG_TEXTS.has(a.content)) this.eog.add(a.id);

    const tpl = config.chat_template;
    if (typeof tpl === 'string') this.chatTemplate = tpl;
    else if (Array.isArray(tpl)) {
      const d = tpl.find((t) => (t as Json)?.name === 'default') ?? tpl[0];
      this.chatTemplate = typeof (d as Json)?.template === 'string' ? (d as Json).template as string : undefined;
    }
    this.pieces = new Array(this.vocabSize);
  }

  isEog(id: number): boolean { return this.eog.has(id); }
  tokenId(text: string): number { return this.textToId.get(text) ?? -1; }
  /** True for added tokens marked special (skipped when decoding with skipSpecial). */
  isControl(id: number): boolean { return this.specialIds.has(id); }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const addBos = opts.addBos ?? this.addBos;
    const addEos = opts.addEos ?? this.addEos;
    if (addBos) {
      if (this.prefixIds.length) out.push(...this.prefixIds);
      else if (this.bosId >= 0) out.push(this.bosId);
      else throw new HearthError('invalid_argument', 'this tokenizer has no BOS token');
    }
    // Added tokens are matched as HF tokenizers does, whatever addBos/addEos say; parseSpecial only
    // overrides split_special_tokens (chat prompts need their special tokens). See added-tokens.ts.
    const matchSpecial = opts.parseSpecial === true || !this.splitSpecialTokens;
    // `first`: the piece starts at offset 0 of the input (for a Metaspace prepend_scheme "first").
    let first = true;
    for (const seg of this.added.splitRaw(text, matchSpecial)) {
      if (typeof seg === 'number') { out.push(seg); first = false; continue; }
      const norm = this.normalizer ? this.normalizer(seg) : seg;
      for (const sub of this.added.splitNormalized(norm, matchSpecial)) {
        if (typeof sub === 'number') out.push(sub);
        else for (const w of this.pre.split(sub, first)) this.encodeWord(w, out);
        first = false;
      }
      first = false;
    }
    if (addEos) {
      if (this.suffixIds.length) out.push(...this.suffixIds);
      else if (this.eosId >= 0) out.push(this.eosId);
      else throw new HearthError('invalid_argument', 'this tokenizer has no EOS token');
    }
    return out;
  }

  private encodeWord(w: string, out: number[]): void {
    if (!this.pre.byteLevel || !(this.model instanceof BpeModel)) { this.model.encodeWord(w, out); return; }
    const hit = this.rawCache.get(w);
    if (hit !== undefined) { for (let k = 0; k < hit.length; k++) out.push(hit[k]); return; }
    const res: number[] = [];
    this.model.mergeWord(byteLevelEncode(w), res);
    if (w.length <= 128) {
      if (this.rawCache.size >= CACHE_MAX) this.rawCache.clear();
      this.rawCache.set(w, res);
    }
    for (let k = 0; k < res.length; k++) out.push(res[k]);
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const skip = opts.skipSpecial ?? true;
    const sink = new ByteSink();
    let strip = this.dec.stripStart;
    let firstEmitted = true;
    const space = Uint8Array.of(32);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skip && this.specialIds.has(id)) continue;
      let p = this.piece(id);
      const wp = this.dec.wordPiecePrefix;
      if (wp !== undefined) {
        const t = this.idToText[id] ?? '';
        if (wp && t.startsWith(wp)) p = p.subarray(Buffer.byteLength(wp));
        else if (!firstEmitted) sink.push(space);
      }
      let k = 0;
      while (strip > 0 && k < p.length && p[k] === 32) { k++; strip--; }
      if (p.length > k) strip = 0;
      sink.push(p, k);
      firstEmitted = false;
    }
    const text = utf8dec.decode(sink.bytes());
    return (opts.cleanSpaces ?? this.cleanSpacesDefault) ? cleanUpTokenization(text) : text;
  }

  tokenToPiece(id: number): string {
    return utf8dec.decode(this.piece(id));
  }

  tokenBytes(id: number): Uint8Array {
    return this.piece(id);
  }

  createStreamDecoder(opts: StreamDecoderOptions = {}): StreamDecoder {
    const skip = opts.skipSpecial ?? true;
    return new PieceStreamDecoder((id) => (skip && this.specialIds.has(id) ? EMPTY : this.piece(id)));
  }

  private piece(id: number): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    let p = this.pieces[id];
    if (p === undefined) {
      const t = this.idToText[id];
      p = t === undefined ? EMPTY : this.dec.piece(t);
      this.pieces[id] = p;
    }
    return p;
  }
}

/** Merges as "a b" strings or [a, b] pairs. */
function* parseMerges(merges: unknown[]): Iterable<[string, string]> {
  for (const m of merges) {
    if (typeof m === 'string') {
      const p = m.indexOf(' ', 1);
      if (p < 0) throw invalid(`merge "${m}" is not "left right"`);
      yield [m.slice(0, p), m.slice(p + 1)];
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      yield [m[0], m[1]];
    } else {
      throw invalid(`merge ${JSON.stringify(m)} is neither "a b" nor [a, b]`);
    }
  }
}
