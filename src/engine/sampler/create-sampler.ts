// Request-time sampling options and the chain they build, as llama.cpp's common_sampler_init builds it:
// logit bias, then the stages of `samplers` in order (default: penalties → DRY → top-k → typical-p → top-p → min-p →
// XTC → temperature), then dist; with mirostat on, logit bias → temperature → mirostat instead.
import { HearthError } from '../../util/errors.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import { DrySampler, dryBreakers, dryVocab } from './dry.ts';
import { MirostatSampler, MirostatV2Sampler } from './mirostat.ts';
import { LogitBiasSampler, PenaltiesSampler } from './penalties.ts';
import { DistSampler, GreedySampler } from './select.ts';
import { SamplerChain, type Sampler } from './sampler.ts';
import { TemperatureSampler } from './temperature.ts';
import { MinPSampler, TopKSampler, TopPSampler, TypicalSampler } from './truncation.ts';
import { XtcSampler } from './xtc.ts';

/** A stage of the chain, by llama.cpp's canonical sampler name. */
export type SamplerStage = 'penalties' | 'dry' | 'top_k' | 'typ_p' | 'top_p' | 'min_p' | 'xtc' | 'temperature';

export const SAMPLER_STAGES: readonly SamplerStage[] = ['penalties', 'dry', 'top_k', 'typ_p', 'top_p', 'min_p', 'xtc', 'temperature'];

export interface SamplingOptions {
  /** <= 0 means greedy: the argmax after penalties and bias. Default 0.8. */
  temperature?: number;
  /** 0 disables. Default 40. */
  topK?: number;
  /** 1 disables. Default 0.95. */
  topP?: number;
  /** 0 disables. Default 0.05. */
  minP?: number;
  /** 1 disables. Default 1. */
  typicalP?: number;
  /** 1 disables. Default 1. */
  repeatPenalty?: number;
  /** Penalty window in accepted tokens; 0 disables, -1 = all accepted tokens. Default 64. */
  repeatLastN?: number;
  /** Default 0. */
  frequencyPenalty?: number;
  /** Default 0. */
  presencePenalty?: number;
  /** 32-bit seed for the random draws (dist, XTC, mirostat); a fresh random seed when absent (see SamplerChain.seed). */
  seed?: number;
  /** [token id, bias] pairs added to the raw logits; -Infinity bans a token. */
  logitBias?: Iterable<readonly [number, number]>;
  /** Top-p, min-p, typical-p and XTC leave at least this many candidates. Default 0. */
  minKeep?: number;
  /** 0 off, 1 Mirostat, 2 Mirostat 2.0: replaces the stages after logit bias with temperature → mirostat. Default 0. */
  mirostat?: number;
  /** Mirostat's target surprise (bits). Default 5. */
  mirostatTau?: number;
  /** Mirostat's learning rate. Default 0.1. */
  mirostatEta?: number;
  /** XTC's chance per step, in [0, 1]; 0 disables. Default 0. */
  xtcProbability?: number;
  /** XTC's probability threshold, in [0, 1]; above 0.5 disables. Default 0.1. */
  xtcThreshold?: number;
  /** DRY's penalty scale; 0 disables. Default 0. */
  dryMultiplier?: number;
  /** DRY's base, >= 1. Default 1.75. */
  dryBase?: number;
  /** Repeats up to this many tokens are not penalised by DRY. Default 2. */
  dryAllowedLength?: number;
  /** Accepted tokens DRY scans; 0 disables, -1 = all accepted tokens. Default 64 (llama.cpp's). */
  dryPenaltyLastN?: number;
  /** Texts that bound DRY's repeats. Default ["\n", ":", "\"", "*"]. */
  drySequenceBreakers?: readonly string[];
  /** The chain's stages in order (duplicates allowed, absent stages skipped). Default SAMPLER_STAGES. */
  samplers?: readonly SamplerStage[];
  /**
   * GBNF text the output must match (llama.cpp's grammar format; JSON schemas arrive compiled to it). The sequence
   * masks the logits with it before the chain runs (engine/sequence.ts), so createSampler does not read it.
   */
  grammar?: string;
  /**
   * Makes `grammar` lazy: output is free until one of these words appears in it, and from the first one on
   * (the word included) it must match the grammar (llama.cpp's lazy grammars; tool calls in auto mode).
   */
  grammarTriggers?: string[];
}

export const DEFAULT_SAMPLING = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  typicalP: 1,
  repeatPenalty: 1,
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
  minKeep: 0,
  mirostat: 0,
  mirostatTau: 5,
  mirostatEta: 0.1,
  xtcProbability: 0,
  xtcThreshold: 0.1,
  dryMultiplier: 0,
  dryBase: 1.75,
  dryAllowedLength: 2,
  dryPenaltyLastN: 64,
  drySequenceBreakers: ['\n', ':', '"', '*'] as readonly string[],
  samplers: SAMPLER_STAGES,
} as const;

/** What the chain may need from the model: the tokenizer, for DRY's sequence breakers. */
export interface SamplerContext {
  tokenizer?: Tokenizer;
}

function check(name: string, v: number, ok: boolean, want: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok) {
    throw new HearthError('invalid_argument', `sampling option ${name} must be ${want}; got ${String(v)}`);
  }
  return v;
}

/**
 * Builds the sampler chain for one sequence. Feed it every prompt token and every generated token with
 * accept() (the penalty and DRY windows cover both, as in llama-server), then call sample(logits) per step.
 * DRY with sequence breakers needs `ctx.tokenizer`.
 */
export function createSampler(opts: SamplingOptions = {}, ctx: SamplerContext = {}): SamplerChain {
  const o = { ...DEFAULT_SAMPLING, ...stripUndefined(opts) };
  const int = (v: number) => Number.isInteger(v);
  const temperature = check('temperature', o.temperature, Number.isFinite(o.temperature), 'a finite number');
  const topK = check('topK', o.topK, int(o.topK) && o.topK >= 0, 'an integer >= 0');
  const topP = check('topP', o.topP, o.topP >= 0 && o.topP <= 1, 'in [0, 1]');
  const minP = check('minP', o.minP, o.minP >= 0 && o.minP <= 1, 'in [0, 1]');
  const typicalP = check('typicalP', o.typicalP, o.typicalP > 0 && o.typicalP <= 1, 'in (0, 1]');
  const repeat = check('repeatPenalty', o.repeatPenalty, o.repeatPenalty > 0 && Number.isFinite(o.repeatPenalty),
    'a finite number > 0');
  const lastN = check('repeatLastN', o.repeatLastN, int(o.repeatLastN) && o.repeatLastN >= -1, 'an integer >= -1');
  const frequency = check('frequencyPenalty', o.frequencyPenalty, Number.isFinite(o.frequencyPenalty), 'a finite number');
  const presence = check('presencePenalty', o.presencePenalty, Number.isFinite(o.presencePenalty), 'a finite number');
  const minKeep = check('minKeep', o.minKeep, int(o.minKeep) && o.minKeep >= 0, 'an integer >= 0');
  const mirostat = check('mirostat', o.mirostat, o.mirostat === 0 || o.mirostat === 1 || o.mirostat === 2, '0, 1 or 2');
  const tau = check('mirostatTau', o.mirostatTau, Number.isFinite(o.mirostatTau), 'a finite number');
  const eta = check('mirostatEta', o.mirostatEta, Number.isFinite(o.mirostatEta), 'a finite number');
  const xtcP = check('xtcProbability', o.xtcProbability, o.xtcProbability >= 0 && o.xtcProbability <= 1, 'in [0, 1]');
  const xtcT = check('xtcThreshold', o.xtcThreshold, o.xtcThreshold >= 0 && o.xtcThreshold <= 1, 'in [0, 1]');
  const dryMul = check('dryMultiplier', o.dryMultiplier, o.dryMultiplier >= 0 && Number.isFinite(o.dryMultiplier),
    'a finite number >= 0');
  const dryBase = check('dryBase', o.dryBase, o.dryBase >= 1 && Number.isFinite(o.dryBase), 'a finite number >= 1');
  const dryAllowed = check('dryAllowedLength', o.dryAllowedLength, int(o.dryAllowedLength) && o.dryAllowedLength >= 0,
    'an integer >= 0');
  const dryLastN = check('dryPenaltyLastN', o.dryPenaltyLastN, int(o.dryPenaltyLastN) && o.dryPenaltyLastN >= -1,
    'an integer >= -1');
  const breakers = o.drySequenceBreakers;
  if (!Array.isArray(breakers) || breakers.some((b) => typeof b !== 'string')) {
    throw new HearthError('invalid_argument', 'sampling option drySequenceBreakers must be an array of strings');
  }
  const order = o.samplers;
  if (!Array.isArray(order) || order.some((s) => !SAMPLER_STAGES.includes(s))) {
    throw new HearthError('invalid_argument',
      `sampling option samplers must be an array of ${SAMPLER_STAGES.join(', ')}; got ${JSON.stringify(order)}`);
  }
  if (opts.seed !== undefined) {
    check('seed', opts.seed, Number.isSafeInteger(opts.seed), 'an integer (used modulo 2^32)');
  }
  const seed = opts.seed;

  const chain: Sampler[] = [];
  if (opts.logitBias !== undefined) {
    const entries = [...opts.logitBias];
    for (const [id, b] of entries) {
      check('logitBias token id', id, Number.isInteger(id) && id >= 0, 'an integer >= 0');
      check(`logitBias[${id}]`, b, b === -Infinity || Number.isFinite(b), 'a finite number or -Infinity');
    }
    if (entries.length > 0) chain.push(new LogitBiasSampler(entries));
  }

  if (mirostat !== 0) {
    // temperature 0 leaves one finite logit, which either mirostat then picks: greedy
    if (temperature <= 0) chain.push(new GreedySampler());
    else {
      chain.push(new TemperatureSampler(temperature));
      chain.push(mirostat === 1 ? new MirostatSampler({ tau, eta, seed, m: 100 }) : new MirostatV2Sampler({ tau, eta, seed }));
    }
    return new SamplerChain(chain);
  }

  const stage = (name: SamplerStage): Sampler | undefined => {
    switch (name) {
      case 'penalties':
        return lastN !== 0 && (repeat !== 1 || frequency !== 0 || presence !== 0)
          ? new PenaltiesSampler({ lastN, repeat, frequency, presence }) : undefined;
      case 'dry': {
        if (dryMul === 0 || dryLastN === 0) return undefined;
        let tokens = new Map<number, Int32Array[]>();
        if (breakers.some((b) => b.length > 0)) {
          if (!ctx.tokenizer) throw new HearthError('internal', 'DRY sequence breakers need the model\'s tokenizer');
          tokens = dryBreakers(dryVocab(ctx.tokenizer), breakers);
        }
        return new DrySampler({ multiplier: dryMul, base: dryBase, allowedLength: dryAllowed, lastN: dryLastN, breakers: tokens });
      }
      case 'top_k': return topK > 0 ? new TopKSampler(topK) : undefined;
      case 'typ_p': return typicalP < 1 ? new TypicalSampler(typicalP, minKeep) : undefined;
      case 'top_p': return topP < 1 ? new TopPSampler(topP, minKeep) : undefined;
      case 'min_p': return minP > 0 ? new MinPSampler(minP, minKeep) : undefined;
      case 'xtc': return xtcP > 0 && xtcT <= 0.5 ? new XtcSampler({ probability: xtcP, threshold: xtcT, minKeep, seed }) : undefined;
      case 'temperature': return new TemperatureSampler(temperature);
    }
  };

  // temperature <= 0 keeps only the argmax of what reaches it: the stages after it change nothing, and before it
  // a truncation (top-k, top-p, min-p: they keep the argmax) matters only when something later reshapes the set
  const greedyAt = temperature <= 0 ? order.indexOf('temperature') : -1;
  const built: [SamplerStage, Sampler][] = [];
  for (const name of greedyAt >= 0 ? order.slice(0, greedyAt) : order) {
    const s = stage(name);
    if (s) built.push([name, s]);
  }
  const reshapes = (n: SamplerStage) => n === 'penalties' || n === 'dry' || n === 'typ_p' || n === 'xtc';
  built.forEach(([name, s], i) => {
    const keepsArgmax = name === 'top_k' || name === 'top_p' || name === 'min_p';
    if (greedyAt >= 0 && keepsArgmax && !built.slice(i + 1).some(([n]) => reshapes(n))) return;
    chain.push(s);
  });
  chain.push(greedyAt >= 0 ? new GreedySampler() : new DistSampler(seed));
  return new SamplerChain(chain);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
