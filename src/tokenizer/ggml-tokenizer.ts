// The Tokenizer over a GGUF vocabulary (llama.cpp `llama_vocab::impl::tokenize` / `detokenize`):
// special-token partition, then the SPM, BPE or WPM model per text fragment.
import { HearthError } from '../util/errors.ts';
import type { Tokenizer, EncodeOptions, DecodeOptions, StreamDecoder, StreamDecoderOptions } from './types.ts';
import type { Vocab } from './vocab.ts';
import { SpmEncoder } from './spm.ts';
import { BpeEncoder } from './bpe.ts';
import { WpmEncoder } from './wpm.ts';
import { ByteSink, cleanSpaces, PieceStreamDecoder } from './decode.ts';

const utf8dec = new TextDecoder('utf-8');

export class GGMLTokenizer implements Tokenizer {
  readonly vocab: Vocab;
  private readonly spm?: SpmEncoder;
  private readonly bpe?: BpeEncoder;
  private readonly wpm?: WpmEncoder;

  constructor(vocab: Vocab) {
    this.vocab = vocab;
    if (vocab.kind === 'spm') this.spm = new SpmEncoder(vocab);
    else if (vocab.kind === 'bpe') this.bpe = new BpeEncoder(vocab);
    else this.wpm = new WpmEncoder(vocab, { lowercase: vocab.flags.lowercase, stripAccents: vocab.flags.stripAccents });
  }

  get vocabSize(): number { return this.vocab.size; }
  get bosId(): number { return this.vocab.special.bos; }
  get eosId(): number { return this.vocab.special.eos; }
  get addBos(): boolean { return this.vocab.flags.addBos; }
  get addEos(): boolean { return this.vocab.flags.addEos; }
  get sepId(): number { return this.vocab.special.sep; }
  get addSep(): boolean { return this.vocab.flags.addSep ?? false; }

  get chatTemplate(): string | undefined { return this.vocab.chatTemplate; }

  isEog(id: number): boolean { return this.vocab.eog.has(id); }

  isControl(id: number): boolean { return this.vocab.isControl(id); }

  tokenId(text: string): number { return this.vocab.tokenToId.get(text) ?? -1; }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const v = this.vocab;
    const addBos = opts.addBos ?? v.flags.addBos;
    // WPM appends [SEP] whenever special tokens are added (llama.cpp add_special).
    const addEos = opts.addEos ?? (v.kind === 'wpm' ? addBos : v.flags.addEos);
    const frags = v.splitter.split(text, opts.parseSpecial ?? false);
    const out: number[] = [];
    if (addBos) {
      if (v.special.bos < 0) throw new HearthError('invalid_argument', 'this vocabulary has no BOS token');
      out.push(v.special.bos);
    }
    if (this.spm) {
      let prevSpecial = true; // the first text fragment gets the space prefix
      for (const f of frags) {
        if (typeof f === 'number') { out.push(f); prevSpecial = true; continue; }
        const t = v.flags.addSpacePrefix && prevSpecial ? ' ' + f : f;
        this.spm.encode(t.replaceAll(' ', '\u2581'), out);
        prevSpecial = false;
      }
    } else {
      const enc = this.bpe ?? this.wpm!;
      for (const f of frags) {
        if (typeof f === 'number') out.push(f);
        else enc.encode(f, out);
      }
    }
    if (addEos) {
      const eos = v.kind === 'wpm' ? v.special.sep : v.special.eos;
      if (eos < 0) throw new HearthError('invalid_argument', 'this vocabulary has no EOS token');
      out.push(eos);
    }
    return out;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    const v = this.vocab;
    const skipSpecial = opts.skipSpecial ?? true;
    let removeSpace = v.flags.addSpacePrefix;
    let i0 = 0, i1 = ids.length;
    if (skipSpecial && v.flags.addBos && i1 > 0 && ids[0] === v.special.bos) { removeSpace = false; i0++; }
    if (skipSpecial && v.flags.addEos && i1 > i0 && ids[i1 - 1] === v.special.eos) i1--;
    const sink = new ByteSink();
    for (let i = i0; i < i1; i++) {
      const p = this.piece(ids[i], !skipSpecial);
      sink.push(p, removeSpace && p.length > 0 && p[0] === 32 ? 1 : 0);
      removeSpace = false;
    }
    let n = sink.n;
    if (opts.cleanSpaces ?? v.flags.cleanSpaces) n = cleanSpaces(sink.buf, n);
    return utf8dec.decode(sink.buf.subarray(0, n));
  }

  tokenToPiece(id: number): string {
    return utf8dec.decode(this.piece(id, true));
  }

  /** Raw bytes of one token's piece (byte tokens are single bytes, possibly half a character). */
  tokenToBytes(id: number, special = true): Uint8Array {
    return this.piece(id, special);
  }

  tokenBytes(id: number): Uint8Array {
    return this.piece(id, true);
  }

  createStreamDecoder(opts: StreamDecoderOptions = {}): StreamDecoder {
    const special = !(opts.skipSpecial ?? true);
    return new PieceStreamDecoder((id) => this.piece(id, special));
  }

  private piece(id: number, special: boolean): Uint8Array {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.size) {
      throw new HearthError('invalid_argument', `token id ${id} is outside the vocabulary (0..${this.vocab.size - 1})`);
    }
    return this.vocab.piece(id, special);
  }
}
