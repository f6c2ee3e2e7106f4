// Hugging Face tokenizers normalizers (tokenizer.json "normalizer"), as string -> string functions.
import { HearthError } from '../../util/errors.ts';
import { compileHFRegex } from './hf-regex.ts';

export type Normalizer = (s: string) => string;

type Json = Record<string, unknown>;

function invalid(msg: string): HearthError {
  return new HearthError('tokenizer_invalid', `tokenizer.json normalizer: ${msg}`);
}

/** A "pattern" object: { String: "..." } or { Regex: "..." } -> global RegExp. */
export function patternRegex(p: unknown, what: string): RegExp {
  const o = p as Json | undefined;
  if (o && typeof o.String === 'string') return new RegExp(escapeRegex(o.String), 'gu');
  if (o && typeof o.Regex === 'string') return compileHFRegex(o.Regex);
  throw new HearthError('tokenizer_invalid', `tokenizer.json ${what}: pattern must be {String} or {Regex}`);
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

const CONTROL = /\p{C}/u;
const WHITESPACE = /\s/u;
const MARK = /\p{Mn}/gu;

function isChineseChar(c: number): boolean {
  return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) || (c >= 0x2b740 && c <= 0x2b81f) || (c >= 0x2b820 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x2f800 && c <= 0x2fa1f);
}

function bert(cfg: Json): Normalizer {
  const clean = cfg.clean_text !== false;
  const chinese = cfg.handle_chinese_chars !== false;
  const lower = cfg.lowercase !== false;
  const strip = cfg.strip_accents === null || cfg.strip_accents === undefined ? lower : cfg.strip_accents === true;
  return (s) => {
    let out = '';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (clean) {
        if (c === 0 || c === 0xfffd || (CONTROL.test(ch) && ch !== '\t' && ch !== '\n' && ch !== '\r')) continue;
        if (WHITESPACE.test(ch)) { out += ' '; continue; }
      }
      out += chinese && isChineseChar(c) ? ` ${ch} ` : ch;
    }
    if (strip) out = out.normalize('NFD').replace(MARK, '');
    if (lower) out = out.toLowerCase();
    return out;
  };
}

export function buildNormalizer(cfg: unknown): Normalizer | undefined {
  if (cfg === null || cfg === undefined) return undefined;
  const o = cfg as Json;
  switch (o.type) {
    case 'NFC': return (s) => s.normalize('NFC');
    case 'NFD': return (s) => s.normalize('NFD');
    case 'NFKC': return (s) => s.normalize('NFKC');
    case 'NFKD': return (s) => s.normalize('NFKD');
    case 'Lowercase': return (s) => s.toLowerCase();
    case 'StripAccents': return (s) => s.replace(MARK, '');
    case 'Strip': {
      const l = o.strip_left !== false, r = o.strip_right !== false;
      return (s) => (l && r ? s.trim() : l ? s.trimStart() : r ? s.trimEnd() : s);
    }
    case 'Prepend': {
      const p = String(o.prepend ?? '');
      return (s) => (s.length ? p + s : s);
    }
    case 'Replace': {
      const re = patternRegex(o.pattern, 'Replace normalizer');
      const content = String(o.content ?? '');
      return (s) => s.replace(re, () => content);
    }
    case 'BertNormalizer': return bert(o);
    case 'Sequence': {
      const list = (o.normalizers as unknown[] | undefined) ?? [];
      if (!Array.isArray(list)) throw invalid('Sequence.normalizers must be a list');
      const fns = list.map(buildNormalizer).filter((f): f is Normalizer => f !== undefined);
      if (fns.length === 0) return undefined;
      if (fns.length === 1) return fns[0];
      return (s) => { for (const f of fns) s = f(s); return s; };
    }
    default:
      throw invalid(`type "${String(o.type)}" is not supported`);
  }
}
