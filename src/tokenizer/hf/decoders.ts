// Hugging Face decoders (tokenizer.json "decoder") reduced to what streaming needs: the bytes of each
// token on its own, plus how many leading spaces of the whole output to drop.
import { HearthError } from '../../util/errors.ts';
import { CHAR_TO_BYTE } from '../byte-level.ts';

type Json = Record<string, unknown>;

const utf8 = new TextEncoder();

export interface DecoderPlan {
  /** Converts one token's text to bytes. */
  piece(text: string): Uint8Array;
  /** Leading spaces to strip from the start of the decoded text (Strip after Fuse, Metaspace). */
  stripStart: number;
  /** WordPiece: tokens without the continuation prefix get a space before them (except the first). */
  wordPiecePrefix?: string;
  /** The decoder asks for transformers' clean-up of spaces (WordPiece cleanup). */
  cleanup: boolean;
}

function byteLevelBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    // A character outside the byte alphabet: HF keeps the token's own UTF-8.
    if (b < 0) return utf8.encode(text);
    out[n++] = b;
  }
  return out.subarray(0, n);
}

const HEX = /^<0x([0-9A-Fa-f]{2})>$/;

export function buildDecoder(cfg: unknown): DecoderPlan {
  const list: Json[] = cfg === null || cfg === undefined ? [] :
    (cfg as Json).type === 'Sequence' ? ((cfg as Json).decoders as Json[]) : [cfg as Json];
  if (!Array.isArray(list)) throw new HearthError('tokenizer_invalid', 'tokenizer.json decoder: Sequence.decoders must be a list');
  const textSteps: ((t: string) => string)[] = [];
  let byteLevel = false, byteFallback = false, fused = false, stripStart = 0;
  let wordPiecePrefix: string | undefined;
  let cleanup = false;
  for (const d of list) {
    switch (d.type) {
      case 'ByteLevel': byteLevel = true; break;
      case 'ByteFallback': byteFallback = true; break;
      case 'Fuse': fused = true; break;
      case 'Replace': {
        const p = d.pattern as Json;
        if (typeof p?.String !== 'string') {
          throw new HearthError('tokenizer_invalid', 'tokenizer.json decoder: only string Replace patterns are supported');
        }
        const from = p.String, to = String(d.content ?? '');
        textSteps.push((t) => t.replaceAll(from, to));
        break;
      }
      case 'Strip': {
        const start = Number(d.start ?? 0);
        if (d.content !== ' ') throw new HearthError('tokenizer_invalid', 'tokenizer.json decoder: Strip supports only spaces');
        if (fused) stripStart += start;
        else textSteps.push((t) => { let k = 0; while (k < start && t[k] === ' ') k++; return t.slice(k); });
        break;
      }
      case 'Metaspace': {
        const rep = String(d.replacement ?? '\u2581');
        textSteps.push((t) => t.replaceAll(rep, ' '));
        const scheme = typeof d.prepend_scheme === 'string' ? d.prepend_scheme : d.add_prefix_space === false ? 'never' : 'always';
        if (scheme !== 'never') stripStart += 1;
        break;
      }
      case 'WordPiece':
        wordPiecePrefix = String(d.prefix ?? '##');
        cleanup = d.cleanup !== false;
        break;
      case 'BPEDecoder': {
        const suffix = String(d.suffix ?? '</w>');
        textSteps.push((t) => t.replaceAll(suffix, ' '));
        break;
      }
      case 'CTC':
      default:
        throw new HearthError('tokenizer_invalid', `tokenizer.json decoder: type "${String(d.type)}" is not supported`);
    }
  }
  return {
    stripStart,
    wordPiecePrefix,
    cleanup,
    piece(text: string): Uint8Array {
      if (byteFallback) {
        const m = HEX.exec(text);
        if (m) return Uint8Array.of(parseInt(m[1], 16));
      }
      for (const f of textSteps) text = f(text);
      return byteLevel ? byteLevelBytes(text) : utf8.encode(text);
    },
  };
}
