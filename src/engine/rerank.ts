// Reranking, as llama-server does it (tools/server format_prompt_rerank, then pooling rank): each document is
// scored with the query as one input, and the score is the classification head's raw logit over that input's
// first row (a BERT reranker: [CLS] query [SEP] document), not a probability and not normalised.
//
// The input, without a `tokenizer.chat_template.rerank` in the file:
//   [BOS if add_bos] query [EOS if add_eos] [SEP if add_sep] document [EOS if add_eos]
// with EOS falling back to SEP where the vocabulary has none; query and document are tokenized without special
// tokens and without parsing control-token text. With the template, {query} and {document} are substituted and the
// text is tokenized with control tokens parsed and nothing added.

import type { GGUFMetadata } from '../gguf/metadata.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { embedMany } from './embed.ts';
import type { LoadedModel } from './load.ts';

/** What building a rerank input needs: the vocabulary and the file's metadata (for its rerank template). */
export interface RerankSource {
  readonly tokenizer: Tokenizer;
  readonly metadata: GGUFMetadata;
}

/** The ids llama-server evaluates for one query + document pair. */
export function rerankInput(model: RerankSource, query: string, document: string): number[] {
  const tok = model.tokenizer;
  const template = model.metadata.getString('tokenizer.chat_template.rerank', undefined);
  if (template !== undefined) {
    const text = template.replaceAll('{query}', query).replaceAll('{document}', document);
    return tok.encode(text, { addBos: false, addEos: false, parseSpecial: true });
  }
  const plain = (text: string) => tok.encode(text, { addBos: false, addEos: false, parseSpecial: false });
  const sep = tok.sepId ?? -1;
  const eos = tok.eosId >= 0 ? tok.eosId : sep;
  const out: number[] = [];
  if (tok.addBos && tok.bosId >= 0) out.push(tok.bosId);
  out.push(...plain(query));
  if (tok.addEos && eos >= 0) out.push(eos);
  if ((tok.addSep ?? false) && sep >= 0) out.push(sep);
  out.push(...plain(document));
  if (tok.addEos && eos >= 0) out.push(eos);
  return out;
}

/** Scores of each document for the query (one per document, in order), in batched passes. */
export function rerank(model: LoadedModel, query: string, documents: readonly string[]): { scores: number[]; tokens: number } {
  const inputs = documents.map((d) => rerankInput(model, query, d));
  const scores = embedMany(model, inputs, 'rank').map((v) => v[0]);
  return { scores, tokens: inputs.reduce((s, t) => s + t.length, 0) };
}
