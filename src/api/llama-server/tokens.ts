// llama-server's POST /tokenize, /detokenize, /apply-template and /embedding (/embeddings): request readers and
// response shapes. Token pieces are the bytes a token adds to text: a string where they are valid UTF-8, else the
// byte values (a byte-fallback token that holds half a character), as llama-server answers.

import type { ChatMessage } from '../../chat/template.ts';
import type { ToolSpec } from '../../chat/tools.ts';
import type { PromptInput } from '../native.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import { chatMessagesFromOpenAI } from '../openai/chat.ts';
import { readFunctionTools } from '../tools.ts';
import { FieldError, tokenIds, type Fields } from '../validate.ts';
import { endFields } from './fields.ts';

export interface TokenizeRequest {
  /** Strings and token ids, as llama-server's tokenize_mixed takes them. */
  content: (string | number)[];
  addSpecial: boolean;
  parseSpecial: boolean;
  withPieces: boolean;
}

export function tokenizeRequestFromLlama(f: Fields): TokenizeRequest {
  const v = f.required('content', (x, k) => x.raw(k));
  const content = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(content) || !content.every((x) => typeof x === 'string' || (Number.isInteger(x) && (x as number) >= 0))) {
    throw new FieldError('content', 'content must be a string (or a list of strings and token ids)');
  }
  const req = {
    content: content as (string | number)[],
    addSpecial: f.boolean('add_special') ?? false,
    parseSpecial: f.boolean('parse_special') ?? true,
    withPieces: f.boolean('with_pieces') ?? false,
  };
  endFields(f);
  return req;
}

/** The token ids: each string tokenized (BOS only before the first, and only with add_special), ids as given. */
export function tokenizeContent(vocab: Tokenizer, req: TokenizeRequest): number[] {
  return req.content.flatMap((x, i) => typeof x === 'number' ? [x]
    : vocab.encode(x, { addBos: req.addSpecial && i === 0, addEos: false, parseSpecial: req.parseSpecial }));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A token's piece: its text, or its bytes when they are not valid UTF-8 on their own. */
export function tokenPiece(vocab: Tokenizer, id: number): string | number[] {
  const bytes = vocab.tokenBytes(id);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return [...bytes];
  }
}

export function tokenizeResponse(vocab: Tokenizer, ids: number[], withPieces: boolean): { tokens: number[] | { id: number; piece: string | number[] }[] } {
  return { tokens: withPieces ? ids.map((id) => ({ id, piece: tokenPiece(vocab, id) })) : ids };
}

export function detokenizeRequestFromLlama(f: Fields, vocab: Tokenizer): number[] {
  const tokens = tokenIds(f.raw('tokens') ?? [], 'tokens', vocab.vocabSize);
  endFields(f);
  return tokens;
}

/** The text of the tokens' pieces one after another (special tokens as their text), as llama-server's tokens_to_str. */
export function detokenize(vocab: Tokenizer, ids: readonly number[]): string {
  const parts = ids.map((id) => vocab.tokenBytes(id));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(all);
}

/** POST /apply-template: messages (as /v1/chat/completions takes them), tools and chat_template_kwargs. */
export function applyTemplateRequestFromLlama(f: Fields): PromptInput & { kind: 'chat' } {
  const messages: ChatMessage[] = chatMessagesFromOpenAI(f, f.required('messages', (x, k) => x.array(k, { nonEmpty: true })));
  const tools: ToolSpec[] | undefined = readFunctionTools(f);
  const vars = f.object('chat_template_kwargs')?.obj;
  endFields(f);
  return { kind: 'chat', messages, ...(tools ? { tools } : {}), ...(vars ? { templateVars: vars } : {}) };
}

export interface EmbeddingRequest {
  inputs: PromptInput[];
  /** embd_normalize: -1 none, 0 max absolute, 1 taxicab, 2 Euclidean (default), p > 2 p-norm. */
  normalize: number;
}

/** POST /embedding and /embeddings: `content` (or `input`): a string, token ids, or a list of either. */
export function embeddingRequestFromLlama(f: Fields): EmbeddingRequest {
  const field = f.has('content') ? 'content' : 'input';
  const v = f.required(field, (x, k) => x.raw(k));
  const one = (x: unknown, at: string): PromptInput => {
    if (typeof x === 'string') return { kind: 'text', text: x };
    return { kind: 'tokens', tokens: tokenIds(x, at) };
  };
  const list = Array.isArray(v) && v.length > 0 && !v.every((x) => typeof x === 'number');
  const inputs = list ? (v as unknown[]).map((x, i) => one(x, `${field}[${i}]`)) : [one(v, field)];
  const normalize = f.number('embd_normalize', { integer: true, min: -1 }) ?? 2;
  endFields(f);
  return { inputs, normalize };
}

/** llama.cpp's common_embd_normalize: the vector over its max-abs (0), taxicab (1), Euclidean (2) or p-norm; -1 as is. */
export function normalizeEmbedding(v: Float32Array, norm: number): number[] {
  let sum = 0;
  if (norm === -1) sum = 1;
  else if (norm === 0) for (const x of v) sum = Math.max(sum, Math.abs(x));
  else if (norm === 1) for (const x of v) sum += Math.abs(x);
  else if (norm === 2) {
    for (const x of v) sum += x * x;
    sum = Math.sqrt(sum);
  } else {
    for (const x of v) sum += Math.abs(x) ** norm;
    sum = sum ** (1 / norm);
  }
  const scale = sum > 0 ? 1 / sum : 0;
  return Array.from(v, (x) => x * scale);
}

/**
 * llama-server's non-OpenAI embeddings answer: one entry per input, `embedding` a list of vectors: the pooled
 * vector alone (Hearth pools every model; pooling none, one vector per token, is not produced).
 */
export function embeddingResponse(vectors: Float32Array[], normalize: number): { index: number; embedding: number[][] }[] {
  return vectors.map((v, index) => ({ index, embedding: [normalizeEmbedding(v, normalize)] }));
}
