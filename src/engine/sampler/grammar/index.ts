// Grammar-constrained sampling (llama.cpp GBNF): the parser, the vocabulary view and the per-sequence sampler.
export { parseGbnf, type Grammar } from './parse.ts';
export { grammarVocab, type GrammarVocab } from './vocab.ts';
export { GrammarSampler } from './grammar-sampler.ts';
