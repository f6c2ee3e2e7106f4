// llama-server's sampling extras by their llama.cpp names (tools/server: mirostat, typical-p, XTC, DRY, min_keep and
// the `samplers` order), read the same way by every dialect that accepts them: OpenAI chat and completions as
// llama-server does, Ollama's `options`, and llama-server's own endpoints.

import { DEFAULT_SAMPLING, SAMPLER_STAGES, type SamplerStage, type SamplingOptions } from '../engine/sampler/index.ts';
import { FieldError, unsupported, type Fields } from './validate.ts';

/** llama.cpp's sampler names and aliases (common_sampler_types_from_names) for the stages Hearth implements. */
const STAGE_NAMES: Readonly<Record<string, SamplerStage>> = {
  penalties: 'penalties',
  dry: 'dry',
  top_k: 'top_k', 'top-k': 'top_k', topk: 'top_k',
  typ_p: 'typ_p', 'typ-p': 'typ_p', typp: 'typ_p', typ: 'typ_p', typical_p: 'typ_p',
  top_p: 'top_p', 'top-p': 'top_p', topp: 'top_p', nucleus: 'top_p',
  min_p: 'min_p', 'min-p': 'min_p', minp: 'min_p',
  xtc: 'xtc',
  temperature: 'temperature', temp: 'temperature',
};

/** llama.cpp's one-letter form ("dkypmxt"; e = penalties). */
const STAGE_CHARS: Readonly<Record<string, SamplerStage>> = {
  e: 'penalties', d: 'dry', k: 'top_k', y: 'typ_p', p: 'top_p', m: 'min_p', x: 'xtc', t: 'temperature',
};

/** Names llama.cpp knows whose stage is not here: top_n_sigma is off unless its parameter is set, which Hearth does not accept. */
const INERT = new Set(['top_n_sigma', 'top-n-sigma', 'topnsigma']);
const INERT_CHARS = new Set(['s']);
const REFUSED = new Set(['infill', 'adaptive_p', 'adaptive-p', 'adaptivep']);
const REFUSED_CHARS = new Set(['i', 'a']);

export interface LlamaSamplerFieldsOptions {
  /**
   * A `samplers` list naming a llama.cpp sampler Hearth does not implement (infill, adaptive_p) is ignored as a
   * whole (the default order applies) instead of refused: llama-server's own endpoints, whose clients send such
   * lists (llama.vscode's /infill: top_k, top_p, infill, an order built around the missing stage). Default false.
   */
  ignoreUnimplementedOrder?: boolean;
}

/**
 * `samplers`: an array of names (case-insensitive, llama.cpp's aliases), a string of letters (llama-server's string
 * form, e.g. "dkypmxt"), or, where a string cannot be letters, names separated by ';' (the --samplers form).
 */
function readSamplers(f: Fields): SamplerStage[] | undefined {
  const v = f.raw('samplers');
  if (v === undefined) return undefined;
  const param = f.name('samplers');
  const byName = (name: unknown, at: string): SamplerStage | undefined => {
    if (typeof name !== 'string') throw new FieldError(at, `${at} must be a sampler name; got ${JSON.stringify(name)}`);
    const key = name.trim().toLowerCase();
    if (INERT.has(key)) return undefined;
    if (REFUSED.has(key)) throw unsupported(at, `the ${key} sampler is not implemented`);
    const stage = STAGE_NAMES[key];
    if (!stage) throw new FieldError(at, `${at}: unknown sampler ${JSON.stringify(name)}; known: ${SAMPLER_STAGES.join(', ')}`);
    return stage;
  };
  const out: SamplerStage[] = [];
  if (Array.isArray(v)) {
    v.forEach((name, i) => { const s = byName(name, `${param}[${i}]`); if (s) out.push(s); });
  } else if (typeof v === 'string') {
    // llama-server reads a string as letters; a string that cannot be letters is names (one, or ';'-separated)
    const letters = [...v].every((ch) => STAGE_CHARS[ch] || INERT_CHARS.has(ch) || REFUSED_CHARS.has(ch));
    if (!letters) {
      for (const name of v.split(';')) if (name.trim() !== '') { const s = byName(name, param); if (s) out.push(s); }
    } else {
      for (const ch of v) {
        if (INERT_CHARS.has(ch)) continue;
        if (REFUSED_CHARS.has(ch)) throw unsupported(param, `the sampler ${JSON.stringify(ch)} (${ch === 'i' ? 'infill' : 'adaptive_p'}) is not implemented`);
        out.push(STAGE_CHARS[ch]!);
      }
    }
  } else {
    throw new FieldError(param, `${param} must be an array of sampler names or a string`);
  }
  return out;
}

/**
 * The llama.cpp-named sampling fields of a request, as SamplingOptions (only those present): mirostat,
 * mirostat_tau, mirostat_eta, typical_p, min_keep, xtc_probability, xtc_threshold, dry_multiplier, dry_base,
 * dry_allowed_length, dry_penalty_last_n, dry_sequence_breakers, samplers. Bad values are FieldErrors naming the field.
 */
export function readLlamaSamplerFields(f: Fields, opts: LlamaSamplerFieldsOptions = {}): Partial<SamplingOptions> {
  const out: Partial<SamplingOptions> = {};
  const set = <K extends keyof SamplingOptions>(k: K, v: SamplingOptions[K] | undefined) => { if (v !== undefined) out[k] = v; };
  set('mirostat', f.number('mirostat', { integer: true, min: 0, max: 2 }));
  set('mirostatTau', f.number('mirostat_tau'));
  set('mirostatEta', f.number('mirostat_eta'));
  // llama.cpp treats typical_p >= 1 as off
  const typical = f.number('typical_p', { min: 0, minExclusive: true });
  set('typicalP', typical === undefined ? undefined : Math.min(1, typical));
  set('minKeep', f.number('min_keep', { integer: true, min: 0 }));
  set('xtcProbability', f.number('xtc_probability', { min: 0, max: 1 }));
  set('xtcThreshold', f.number('xtc_threshold', { min: 0, max: 1 }));
  set('dryMultiplier', f.number('dry_multiplier', { min: 0 }));
  // llama-server replaces a base below 1 with its default
  const base = f.number('dry_base');
  set('dryBase', base === undefined ? undefined : base < 1 ? DEFAULT_SAMPLING.dryBase : base);
  set('dryAllowedLength', f.number('dry_allowed_length', { integer: true, min: 0 }));
  set('dryPenaltyLastN', f.number('dry_penalty_last_n', { integer: true, min: -1 }));
  const breakers = f.array('dry_sequence_breakers', { nonEmpty: true });
  if (breakers !== undefined) {
    breakers.forEach((b, i) => {
      if (typeof b !== 'string') throw new FieldError(`${f.name('dry_sequence_breakers')}[${i}]`, `${f.name('dry_sequence_breakers')}[${i}] must be a string`);
    });
    out.drySequenceBreakers = breakers as string[];
  }
  try {
    set('samplers', readSamplers(f));
  } catch (e) {
    if (!(opts.ignoreUnimplementedOrder && e instanceof FieldError && e.code === 'unsupported_field')) throw e;
  }
  return out;
}
