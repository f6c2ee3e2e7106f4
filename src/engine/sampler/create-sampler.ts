// Request-time sampling options and the chain they build, in llama.cpp's default order:
// logit bias → penalties → top-k → typical-p → top-p → min-p → temperature → dist.
import { HearthError } from '../../util/errors.ts';
import { LogitBiasSampler, PenaltiesSampler } from './penalties.ts';
import { DistSampler, GreedySampler } from './select.ts';
import { SamplerChain, type Sampler } from './sampler.ts';
import { TemperatureSampler } from './temperature.ts';
import { MinPSampler, TopKSampler, TopPSampler, TypicalSampler } from './truncation.ts';

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
  /** 32-bit seed for the random draw; a fresh random seed when absent (see SamplerChain.seed). */
  seed?: number;
  /** [token id, bias] pairs added to the raw logits; -Infinity bans a token. */
  logitBias?: Iterable<readonly [number, number]>;
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
} as const;

function check(name: string, v: number, ok: boolean, want: string): number {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok) {
    throw new HearthError('invalid_argument', `sampling option ${name} must be ${want}; got ${String(v)}`);
  }
  return v;
}

/**
 * Builds the sampler chain for one sequence. Feed it every prompt token and every generated token with
 * accept() (the penalty window covers both, as in llama-server), then call sample(logits) per step.
 */
export function createSampler(opts: SamplingOptions = {}): SamplerChain {
  const o = { ...DEFAULT_SAMPLING, ...stripUndefined(opts) };
  const temperature = check('temperature', o.temperature, Number.isFinite(o.temperature), 'a finite number');
  const topK = check('topK', o.topK, Number.isInteger(o.topK) && o.topK >= 0, 'an integer >= 0');
  const topP = check('topP', o.topP, o.topP >= 0 && o.topP <= 1, 'in [0, 1]');
  const minP = check('minP', o.minP, o.minP >= 0 && o.minP <= 1, 'in [0, 1]');
  const typicalP = check('typicalP', o.typicalP, o.typicalP > 0 && o.typicalP <= 1, 'in (0, 1]');
  const repeat = check('repeatPenalty', o.repeatPenalty, o.repeatPenalty > 0 && Number.isFinite(o.repeatPenalty),
    'a finite number > 0');
  const lastN = check('repeatLastN', o.repeatLastN, Number.isInteger(o.repeatLastN) && o.repeatLastN >= -1,
    'an integer >= -1');
  const frequency = check('frequencyPenalty', o.frequencyPenalty, Number.isFinite(o.frequencyPenalty), 'a finite number');
  const presence = check('presencePenalty', o.presencePenalty, Number.isFinite(o.presencePenalty), 'a finite number');
  if (opts.seed !== undefined) {
    check('seed', opts.seed, Number.isSafeInteger(opts.seed), 'an integer (used modulo 2^32)');
  }

  const chain: Sampler[] = [];
  if (opts.logitBias !== undefined) {
    const entries = [...opts.logitBias];
    for (const [id, b] of entries) {
      check('logitBias token id', id, Number.isInteger(id) && id >= 0, 'an integer >= 0');
      check(`logitBias[${id}]`, b, b === -Infinity || Number.isFinite(b), 'a finite number or -Infinity');
    }
    if (entries.length > 0) chain.push(new LogitBiasSampler(entries));
  }
  if (lastN !== 0 && (repeat !== 1 || frequency !== 0 || presence !== 0)) {
    chain.push(new PenaltiesSampler({ lastN, repeat, frequency, presence }));
  }
  if (temperature <= 0) {
    chain.push(new GreedySampler());
    return new SamplerChain(chain);
  }
  if (topK > 0) chain.push(new TopKSampler(topK));
  if (typicalP < 1) chain.push(new TypicalSampler(typicalP));
  if (topP < 1) chain.push(new TopPSampler(topP));
  if (minP > 0) chain.push(new MinPSampler(minP));
  chain.push(new TemperatureSampler(temperature));
  chain.push(new DistSampler(opts.seed));
  return new SamplerChain(chain);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
