// llama-server's sampling fields, read in one place: the request fields of /completion and /infill that become
// SamplingOptions, and the `generation_settings` / `params` object its responses, /props and /slots report.
// The llama.cpp-named extras (mirostat, typical_p, min_keep, xtc_*, dry_*, samplers) are readLlamaSamplerFields',
// shared with the OpenAI dialect; dynatemp_* has no sampler here and is reported at its disabled default.

import { DEFAULT_SAMPLING, type SamplingOptions } from '../../engine/sampler/index.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import { readLlamaSamplerFields } from '../llama-sampler-fields.ts';
import { readLlamaGrammar } from '../structured-output.ts';
import { FieldError, checkNumber, type Fields } from '../validate.ts';

/** llama-server's "no seed given": LLAMA_DEFAULT_SEED (0xFFFFFFFF), which draws a random one. */
export const RANDOM_SEED = 0xffffffff;

/**
 * The sampling fields as llama-server reads them: defaults where absent, disabled values rather than errors where
 * llama.cpp treats them as off (top_k <= 0, typical_p >= 1), seed -1 (or 0xFFFFFFFF) random. `vocab` turns the text
 * keys of logit_bias into their tokens; without one such keys are a 400.
 */
export function readLlamaSampling(f: Fields, vocab?: Tokenizer): SamplingOptions {
  const topK = f.number('top_k', { integer: true });
  const seed = f.number('seed', { integer: true, min: -1, max: RANDOM_SEED });
  const sampling: SamplingOptions = {
    temperature: f.number('temperature'),
    topK: topK === undefined ? undefined : Math.max(0, topK),
    topP: f.number('top_p', { min: 0, max: 1 }),
    minP: f.number('min_p', { min: 0, max: 1 }),
    repeatPenalty: f.number('repeat_penalty', { min: 0, minExclusive: true }),
    repeatLastN: f.number('repeat_last_n', { integer: true, min: -1 }),
    presencePenalty: f.number('presence_penalty'),
    frequencyPenalty: f.number('frequency_penalty'),
    seed: seed === undefined || seed === -1 || seed === RANDOM_SEED ? undefined : seed,
    ...readLlamaSamplerFields(f, { ignoreUnimplementedOrder: true }),
  };
  const bias = readLogitBias(f, vocab);
  if (bias.length) sampling.logitBias = bias;
  const grammar = readLlamaGrammar(f);
  if (grammar !== undefined) sampling.grammar = grammar;
  return sampling;
}

/**
 * logit_bias in each form llama-server takes: `[[id, bias], ["text", bias]]` or `{"id": bias, "text": bias}`, where
 * bias `false` bans the token and a text stands for each of its tokens.
 */
export function readLogitBias(f: Fields, vocab?: Tokenizer): [number, number][] {
  const v = f.raw('logit_bias');
  if (v === undefined) return [];
  const out: [number, number][] = [];
  const add = (key: unknown, bias: unknown, at: string) => {
    const b = bias === false ? -Infinity : checkNumber(bias, at);
    if (typeof key === 'number') {
      checkNumber(key, at, { integer: true, min: 0, max: (vocab?.vocabSize ?? Infinity) - 1 });
      out.push([key, b]);
    } else if (typeof key === 'string' && /^\d+$/.test(key)) {
      add(Number(key), bias, at);
    } else if (typeof key === 'string') {
      if (!vocab) throw new FieldError(at, `${at}: a text key needs the model's vocabulary, which this model does not expose; send token ids`);
      for (const id of vocab.encode(key, { addBos: false, addEos: false, parseSpecial: false })) out.push([id, b]);
    } else {
      throw new FieldError(at, `${at} must be [token id or text, bias]`);
    }
  };
  if (Array.isArray(v)) {
    v.forEach((pair, i) => {
      const at = `logit_bias[${i}]`;
      if (!Array.isArray(pair) || pair.length !== 2) throw new FieldError(at, `${at} must be a pair [token id or text, bias or false]`);
      add(pair[0], pair[1], at);
    });
  } else if (typeof v === 'object') {
    for (const [k, b] of Object.entries(v as Record<string, unknown>)) add(k, b, `logit_bias.${k}`);
  } else {
    throw new FieldError('logit_bias', 'logit_bias must be an array of [token, bias] pairs or an object {token: bias}');
  }
  return out;
}

/** What generationSettings reports besides the sampler values. */
export interface SettingsExtra {
  nPredict: number | undefined;
  stop: readonly string[];
  stream: boolean;
  nProbs: number;
  nKeep: number;
  postSamplingProbs: boolean;
}

/**
 * llama-server's generation settings object (`generation_settings` of /completion, `params` of /slots and
 * /props' default_generation_settings): the engine's defaults where the request set nothing. dynatemp, which the
 * engine does not have, is listed at the values that switch it off.
 */
export function generationSettings(s: SamplingOptions, x: SettingsExtra): Record<string, unknown> {
  const d = DEFAULT_SAMPLING;
  return {
    n_predict: x.nPredict ?? -1,
    seed: s.seed ?? RANDOM_SEED,
    temperature: s.temperature ?? d.temperature,
    dynatemp_range: 0,
    dynatemp_exponent: 1,
    top_k: s.topK ?? d.topK,
    top_p: s.topP ?? d.topP,
    min_p: s.minP ?? d.minP,
    xtc_probability: s.xtcProbability ?? d.xtcProbability,
    xtc_threshold: s.xtcThreshold ?? d.xtcThreshold,
    typical_p: s.typicalP ?? d.typicalP,
    repeat_last_n: s.repeatLastN ?? d.repeatLastN,
    repeat_penalty: s.repeatPenalty ?? d.repeatPenalty,
    presence_penalty: s.presencePenalty ?? d.presencePenalty,
    frequency_penalty: s.frequencyPenalty ?? d.frequencyPenalty,
    dry_multiplier: s.dryMultiplier ?? d.dryMultiplier,
    dry_base: s.dryBase ?? d.dryBase,
    dry_allowed_length: s.dryAllowedLength ?? d.dryAllowedLength,
    dry_penalty_last_n: s.dryPenaltyLastN ?? d.dryPenaltyLastN,
    dry_sequence_breakers: [...(s.drySequenceBreakers ?? d.drySequenceBreakers)],
    mirostat: s.mirostat ?? d.mirostat,
    mirostat_tau: s.mirostatTau ?? d.mirostatTau,
    mirostat_eta: s.mirostatEta ?? d.mirostatEta,
    stop: [...x.stop],
    max_tokens: x.nPredict ?? -1,
    n_keep: x.nKeep,
    n_discard: 0,
    ignore_eos: false,
    stream: x.stream,
    logit_bias: s.logitBias ? [...s.logitBias].map(([id, b]) => [id, Number.isFinite(b) ? b : false]) : [],
    n_probs: x.nProbs,
    min_keep: s.minKeep ?? d.minKeep,
    grammar: s.grammar ?? '',
    samplers: [...(s.samplers ?? d.samplers)],
    timings_per_token: false,
    post_sampling_probs: x.postSamplingProbs,
  };
}
