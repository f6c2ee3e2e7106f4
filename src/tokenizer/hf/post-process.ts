// tokenizer.json post-processors reduced to the ids they put before and after a single sequence,
// and transformers' clean_up_tokenization for decoded text.
import { HearthError } from '../../util/errors.ts';

export { EOG_TEXTS } from '../eog.ts';

type Json = Record<string, unknown>;

export interface SpecialFrame { prefix: number[]; suffix: number[] }

function idsOf(name: string, specials: Json | undefined, lookup: (t: string) => number | undefined): number[] {
  const entry = specials?.[name] as Json | undefined;
  if (entry && Array.isArray(entry.ids)) return entry.ids as number[];
  const id = lookup(name);
  if (id === undefined) throw new HearthError('tokenizer_invalid', `tokenizer.json post_processor: unknown special token "${name}"`);
  return [id];
}

export function postProcessorSpecials(cfg: unknown, lookup: (t: string) => number | undefined): SpecialFrame {
  const frame: SpecialFrame = { prefix: [], suffix: [] };
  if (cfg === null || cfg === undefined) return frame;
  const o = cfg as Json;
  switch (o.type) {
    case 'TemplateProcessing': {
      const single = o.single as Json[] | undefined;
      if (!Array.isArray(single)) throw new HearthError('tokenizer_invalid', 'tokenizer.json post_processor: TemplateProcessing.single must be a list');
      let seen = false;
      for (const piece of single) {
        if (piece.Sequence) { seen = true; continue; }
        const sp = piece.SpecialToken as Json | undefined;
        if (!sp || typeof sp.id !== 'string') continue;
        const ids = idsOf(sp.id, o.special_tokens as Json | undefined, lookup);
        (seen ? frame.suffix : frame.prefix).push(...ids);
      }
      return frame;
    }
    case 'BertProcessing': case 'RobertaProcessing': {
      const cls = o.cls as [string, number] | undefined, sep = o.sep as [string, number] | undefined;
      if (cls) frame.prefix.push(cls[1]);
      if (sep) frame.suffix.push(sep[1]);
      return frame;
    }
    case 'Sequence': {
      for (const p of (o.processors as unknown[] | undefined) ?? []) {
        const f = postProcessorSpecials(p, lookup);
        frame.prefix.push(...f.prefix);
        frame.suffix.push(...f.suffix);
      }
      return frame;
    }
    case 'ByteLevel':
      return frame;
    default:
      throw new HearthError('tokenizer_invalid', `tokenizer.json post_processor: type "${String(o.type)}" is not supported`);
  }
}

/** transformers' `clean_up_tokenization`: removes spaces before punctuation and contractions. */
export function cleanUpTokenization(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}
