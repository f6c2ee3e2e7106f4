// The sampler folder's entry: the chain factory and options, plus the parts for building custom chains.
export {
  createSampler, DEFAULT_SAMPLING, SAMPLER_STAGES, type SamplerContext, type SamplerStage, type SamplingOptions,
} from './create-sampler.ts';
export { SamplerChain, type Sampler, type SampledToken } from './sampler.ts';
export { Candidates } from './candidates.ts';
export { PenaltiesSampler, LogitBiasSampler, type PenaltyOptions } from './penalties.ts';
export { TopKSampler, TopPSampler, MinPSampler, TypicalSampler } from './truncation.ts';
export { TemperatureSampler } from './temperature.ts';
export { MirostatSampler, MirostatV2Sampler, type MirostatOptions } from './mirostat.ts';
export { XtcSampler, type XtcOptions } from './xtc.ts';
export { DrySampler, dryBreakers, dryVocab, type DryBreakers, type DryOptions, type DryVocab } from './dry.ts';
export { GreedySampler, DistSampler, randomSeed } from './select.ts';
export { Mt19937 } from './mt19937.ts';
export { tokenLogprobs, type TokenLogprob } from './token-info.ts';
export { parseGbnf, grammarVocab, GrammarSampler, LazyGrammar, type Grammar, type GrammarVocab } from './grammar/index.ts';
export { jsonSchemaToGbnf, JSON_OBJECT_GBNF, type JsonSchemaGbnfOptions } from './grammar/json-schema.ts';
