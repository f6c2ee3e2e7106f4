// POST /v1/rerank (and /rerank): llama-server's reranking endpoint, in the shape Jina and Cohere share, plus
// Hugging Face TEI's (a `texts` list, answered as a bare list with `score`), as llama-server accepts both.
//
// Request  { model, query, documents: (string | {text})[], top_n?, return_documents? }
// Response { model, object: 'list', usage: { prompt_tokens, total_tokens },
//            results: [{ index, relevance_score, document?: { text } }] }  best first, at most top_n.
// The score is the model's raw relevance logit, as llama-server reports it (no sigmoid).

import { HearthError } from '../../util/errors.ts';
import { Fields, FieldError } from '../validate.ts';

export interface RerankRequest {
  model: string;
  query: string;
  documents: string[];
  /** Results to return, best first (default: every document). */
  topN: number;
  /** Echo each result's document text (Jina/Cohere `return_documents`, TEI `return_text`). */
  returnDocuments: boolean;
  /** The request came in TEI's shape (`texts`): the answer is TEI's too. */
  format: 'jina' | 'tei';
}

function documentTexts(f: Fields, list: unknown[], key: string): string[] {
  return list.map((d, i) => {
    if (typeof d === 'string') return d;
    const name = `${key}[${i}]`;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) {
      throw new FieldError(name, `${name} must be a string or an object with a text field`);
    }
    const g = f.child(d, name);
    const text = g.required('text', (x, k) => x.string(k));
    g.rejectUnknown();
    return text;
  });
}

export function rerankRequestFromWire(body: unknown): RerankRequest {
  const f = new Fields(body);
  const model = f.required('model', (x, k) => x.string(k, { nonEmpty: true }));
  const query = f.required('query', (x, k) => x.string(k));
  const tei = f.has('texts') && !f.has('documents');
  const key = tei ? 'texts' : 'documents';
  const list = f.required(key, (x, k) => x.array(k));
  if (list.length === 0) throw new FieldError(key, `${key} must be a non-empty list: there is nothing to rank`);
  const documents = documentTexts(f, list, key);
  const topN = f.number('top_n', { integer: true, min: 1 }) ?? documents.length;
  const returnDocuments = (tei ? f.boolean('return_text') : f.boolean('return_documents')) ?? false;
  f.string('user');
  f.rejectUnknown();
  return { model, query, documents, topN: Math.min(topN, documents.length), returnDocuments, format: tei ? 'tei' : 'jina' };
}

export interface RerankResult {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

export interface RerankResponse {
  model: string;
  object: 'list';
  usage: { prompt_tokens: number; total_tokens: number };
  results: RerankResult[];
}

export interface TeiRankResult {
  index: number;
  score: number;
  text?: string;
}

/** Document indices by score, best first; equal scores keep the documents' order. */
export function rankOrder(scores: readonly number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

export function rerankResponse(req: RerankRequest, scores: readonly number[], tokens: number): RerankResponse | TeiRankResult[] {
  if (scores.length !== req.documents.length) {
    throw new HearthError('internal', `${scores.length} scores came back for ${req.documents.length} documents`);
  }
  const order = rankOrder(scores).slice(0, req.topN);
  if (req.format === 'tei') {
    return order.map((index) => ({ index, score: scores[index], ...(req.returnDocuments ? { text: req.documents[index] } : {}) }));
  }
  return {
    model: req.model,
    object: 'list',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    results: order.map((index) => ({
      index, relevance_score: scores[index], ...(req.returnDocuments ? { document: { text: req.documents[index] } } : {}),
    })),
  };
}
