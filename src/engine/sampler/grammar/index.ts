// Grammar-constrained sampling (llama.cpp GBNF): the parser, the vocabulary view and the per-sequence sampler.
// Per request: parseGbnf(text) once; per sequence: new GrammarSampler(grammar, grammarVocab(tokenizer)); per
// step: mask(logits) before the sampler chain, accept(token) after it (generated tokens only, not the prompt).
// Caches (automaton, masks) hang off the Grammar object, so reusing one object across requests keeps them warm.
export { parseGbnf, type Grammar } from './parse.ts';
export { grammarVocab, type GrammarVocab } from './vocab.ts';
export { GrammarSampler } from './grammar-sampler.ts';
export { LazyGrammar } from './lazy.ts';
