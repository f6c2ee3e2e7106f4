// Hugging Face tokenizers pre-tokenizers (tokenizer.json "pre_tokenizer"): each step maps a list of
// pieces to a finer list. A trailing ByteLevel step is reported instead of applied, so the caller can
// map words to the byte alphabet after its word cache.
import { HearthError } from '../../util/errors.ts';
import { byteLevelEncode } from '../byte-level.ts';
import { compileHFRegex } from './hf-regex.ts';
import { patternRegex } from './normalizers.ts';
import { splitIsolated } from '../regex-split.ts';

type Json = Record<string, unknown>;
type Step = (pieces: string[], first: boolean) => string[];

export interface PreTokenizer {
  /** Splits one normalized segment; `first` is true for the segment at the start of the input. */
  split(s: string, first: boolean): string[];
  /** Words still have to be mapped to the byte-level alphabet (a final ByteLevel step). */
  readonly byteLevel: boolean;
}

export const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

type Behavior = 'Isolated' | 'Removed' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

function invalid(msg: string): HearthError {
  return new HearthError('tokenizer_invalid', `tokenizer.json pre_tokenizer: ${msg}`);
}

/** Splits `s` by the matches of `re` according to a HF SplitDelimiterBehavior. */
export function splitWith(s: string, re: RegExp, behavior: Behavior, invert: boolean, out: string[]): void {
  if (behavior === 'Isolated') { splitIsolated(s, re, out); return; }
  // Segments as [start, end, isMatch].
  const segs: [number, number, boolean][] = [];
  re.lastIndex = 0;
  let prev = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const len = m[0].length;
    if (len === 0) { re.lastIndex = m.index + 1; continue; }
    if (m.index > prev) segs.push([prev, m.index, invert]);
    segs.push([m.index, m.index + len, !invert]);
    prev = m.index + len;
  }
  if (prev < s.length) segs.push([prev, s.length, invert]);
  switch (behavior) {
    case 'Removed':
      for (const [a, b, isM] of segs) if (!isM) out.push(s.slice(a, b));
      return;
    case 'MergedWithPrevious': {
      // A match joins the piece before it unless that piece was itself a match (HF semantics).
      const acc: [number, number][] = [];
      let prevMatch = false;
      for (const [a, b, isM] of segs) {
        if (isM && !prevMatch && acc.length) acc[acc.length - 1][1] = b;
        else acc.push([a, b]);
        prevMatch = isM;
      }
      for (const [a, b] of acc) out.push(s.slice(a, b));
      return;
    }
    case 'MergedWithNext': {
      // Mirror image: a match joins the piece after it unless that piece is a match.
      const acc: [number, number][] = [];
      let nextMatch = false;
      for (let k = segs.length - 1; k >= 0; k--) {
        const [a, b, isM] = segs[k];
        if (isM && !nextMatch && acc.length) acc[acc.length - 1][0] = a;
        else acc.push([a, b]);
        nextMatch = isM;
      }
      for (let k = acc.length - 1; k >= 0; k--) out.push(s.slice(acc[k][0], acc[k][1]));
      return;
    }
    case 'Contiguous': {
      let start = -1, end = -1, lastM = false;
      for (const [a, b, isM] of segs) {
        if (start >= 0 && isM && lastM) { end = b; continue; }
        if (start >= 0) out.push(s.slice(start, end));
        start = a; end = b; lastM = isM;
      }
      if (start >= 0) out.push(s.slice(start, end));
      return;
    }
    default:
      throw invalid(`split behavior "${String(behavior)}" is unknown`);
  }
}

function mapPieces(fn: (p: string, out: string[]) => void): Step {
  return (pieces) => {
    const out: string[] = [];
    for (const p of pieces) fn(p, out);
    return out;
  };
}

function byteLevelStep(cfg: Json, applyMapping: boolean): Step {
  const prefix = cfg.add_prefix_space === true;
  const re = cfg.use_regex !== false ? compileHFRegex(GPT2_REGEX) : undefined;
  return (pieces) => {
    const out: string[] = [];
    for (let p of pieces) {
      if (prefix && !p.startsWith(' ')) p = ' ' + p;
      if (re) splitWith(p, re, 'Isolated', false, out);
      else out.push(p);
    }
    return applyMapping ? out.map(byteLevelEncode) : out;
  };
}

function metaspaceStep(cfg: Json): Step {
  const rep = String(cfg.replacement ?? '\u2581');
  const scheme = typeof cfg.prepend_scheme === 'string' ? cfg.prepend_scheme : cfg.add_prefix_space === false ? 'never' : 'always';
  const split = cfg.split !== false;
  const re = new RegExp(rep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
  return (pieces, first) => {
    const out: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      let p = pieces[i].replaceAll(' ', rep);
      if ((scheme === 'always' || (scheme === 'first' && first && i === 0)) && !p.startsWith(rep)) p = rep + p;
      if (split) splitWith(p, re, 'MergedWithNext', false, out);
      else out.push(p);
    }
    return out;
  };
}

function stepFor(cfg: Json, last: boolean): { step: Step; deferredByteLevel: boolean } {
  switch (cfg.type) {
    case 'ByteLevel':
      return { step: byteLevelStep(cfg, !last), deferredByteLevel: last };
    case 'Split': {
      const re = patternRegex(cfg.pattern, 'Split pre-tokenizer');
      const behavior = (cfg.behavior ?? 'Isolated') as Behavior;
      const invert = cfg.invert === true;
      return { step: mapPieces((p, out) => splitWith(p, re, behavior, invert, out)), deferredByteLevel: false };
    }
    case 'Metaspace':
      return { step: metaspaceStep(cfg), deferredByteLevel: false };
    case 'Whitespace': {
      const re = /\w+|[^\w\s]+/gu;
      return { step: mapPieces((p, out) => splitWith(p, re, 'Removed', true, out)), deferredByteLevel: false };
    }
    case 'WhitespaceSplit': {
      const re = /\s+/gu;
      return { step: mapPieces((p, out) => splitWith(p, re, 'Removed', false, out)), deferredByteLevel: false };
    }
    case 'Digits': {
      const re = cfg.individual_digits === true ? /[0-9]/gu : /[0-9]+/gu;
      return { step: mapPieces((p, out) => splitWith(p, re, 'Isolated', false, out)), deferredByteLevel: false };
    }
    case 'Punctuation': {
      const re = /[\p{P}!-/:-@[-`{-~]/gu;
      const behavior = (cfg.behavior ?? 'Isolated') as Behavior;
      return { step: mapPieces((p, out) => splitWith(p, re, behavior, false, out)), deferredByteLevel: false };
    }
    case 'BertPreTokenizer': {
      const ws = /\s+/gu, punct = /[\p{P}!-/:-@[-`{-~]/gu;
      return {
        step: mapPieces((p, out) => {
          const words: string[] = [];
          splitWith(p, ws, 'Removed', false, words);
          for (const w of words) splitWith(w, punct, 'Isolated', false, out);
        }),
        deferredByteLevel: false,
      };
    }
    default:
      throw invalid(`type "${String(cfg.type)}" is not supported`);
  }
}

export function buildPreTokenizer(cfg: unknown): PreTokenizer {
  if (cfg === null || cfg === undefined) return { split: (s) => [s], byteLevel: false };
  const o = cfg as Json;
  const list = o.type === 'Sequence' ? (o.pretokenizers as Json[]) : [o];
  if (!Array.isArray(list)) throw invalid('Sequence.pretokenizers must be a list');
  let byteLevel = false;
  const steps = list.map((c, i) => {
    const r = stepFor(c, i === list.length - 1);
    if (r.deferredByteLevel) byteLevel = true;
    return r.step;
  });
  return {
    byteLevel,
    split(s, first) {
      let pieces = [s];
      for (const step of steps) pieces = step(pieces, first);
      return pieces;
    },
  };
}
