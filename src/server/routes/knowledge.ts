// OpenAI's Files and Vector Stores endpoints over the KnowledgeBase (src/knowledge/): /v1/files (multipart
// upload, for this route only), /v1/vector_stores, their files (attach → ingest job) and search.
//
// Which embedding model a vector store uses: the request's `embedding_model` (a Hearth field), else the
// server's default (`hearth serve --embedding-model`); a store keeps its model for life.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { FieldError } from '../../api/validate.ts';
import type { ModelManager } from '../../provider/model-manager.ts';
import type { KnowledgeBase, SearchHit, SearchMode, StoreFile, StoredFile, VectorStore } from '../../knowledge/knowledge-base.ts';
import type { Embedder, EmbedderLease, EmbedderSource } from '../../knowledge/types.ts';
import type { Provider } from '../../provider/types.ts';
import { parseAttributes, parseFilter } from '../../knowledge/filters.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';

export interface KnowledgeRouteOptions {
  /** The embedding model of a vector store created without `embedding_model`. */
  defaultEmbeddingModel?: string;
  /** Largest upload to POST /v1/files, in bytes (default 512 MiB; the body is read into memory). */
  fileLimit?: number;
}

export const DEFAULT_FILE_LIMIT = 512 * 1024 * 1024;

/** An Embedder over a provider that embeds (a 400 about `embedding_model` when it does not). */
export function providerEmbedder(p: Provider): Embedder {
  if (!p.card.capabilities.embeddings) {
    throw new FieldError('embedding_model', `model "${p.card.id}" cannot embed: ${p.card.missing?.embeddings ?? 'it has no embeddings capability'}`);
  }
  const tok = p.tokenizer;
  return {
    model: p.card.id,
    // Two special tokens ([CLS] … [SEP]) around each input.
    maxTokens: Math.max(16, (p.card.nCtx ?? 512) - 2),
    countTokens: tok ? (s) => tok.encode(s, { addBos: false, addEos: false }).length : (s) => Math.ceil(s.length / 4),
    embed: async (texts, signal) => (await p.embed(texts.map((text) => ({ kind: 'text', text })), { truncate: true }, signal)).vectors,
  };
}

/** Embedders over the models a ModelManager serves: a lease per piece of work. */
export function modelEmbedders(models: ModelManager): EmbedderSource {
  return async (name: string): Promise<EmbedderLease> => {
    let lease;
    try {
      lease = await models.acquire(name);
    } catch (e) {
      if (e instanceof HearthError && e.code === 'not_found') throw new FieldError('embedding_model', e.message, 'not_found');
      throw e;
    }
    try {
      return { embedder: providerEmbedder(lease.provider), release: () => lease.release() };
    } catch (e) {
      lease.release();
      throw e;
    }
  };
}

const seconds = (ms: number) => Math.floor(ms / 1000);

function fileJson(f: StoredFile) {
  return { id: f.id, object: 'file', bytes: f.bytes, created_at: seconds(f.createdAt), filename: f.filename, purpose: f.purpose, status: 'processed', expires_at: null };
}

function storeJson(kb: KnowledgeBase, v: VectorStore) {
  const counts = kb.fileCounts(v.id);
  return {
    id: v.id, object: 'vector_store', created_at: seconds(v.createdAt), name: v.name, usage_bytes: kb.usageBytes(v.id), file_counts: counts,
    status: counts.in_progress > 0 ? 'in_progress' : 'completed', last_active_at: seconds(v.lastActiveAt), metadata: v.metadata,
    expires_after: null, expires_at: null, embedding_model: v.model,
  };
}

function storeFileJson(f: StoreFile) {
  return {
    id: f.fileId, object: 'vector_store.file', usage_bytes: f.usageBytes, created_at: seconds(f.createdAt), vector_store_id: f.storeId,
    status: f.status, last_error: f.lastError ?? null, attributes: f.attributes,
    chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: f.chunking.maxTokens, chunk_overlap_tokens: f.chunking.overlap } },
  };
}

export function searchHitJson(h: SearchHit) {
  return { file_id: h.fileId, filename: h.filename, score: h.score, attributes: h.attributes, content: [{ type: 'text', text: h.text }] };
}

function list<T extends { id: string }>(data: T[]) {
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, has_more: false };
}

type Body = Record<string, unknown>;

function body(x: unknown): Body {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new HearthError('invalid_argument', 'the request body must be a JSON object');
  return x as Body;
}

function optString(b: Body, k: string): string | undefined {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new FieldError(k, `${k} must be a string`);
  return v;
}

function metadata(b: Body): Record<string, string> | undefined {
  const m = b.metadata;
  if (m === undefined || m === null) return undefined;
  if (typeof m !== 'object' || Array.isArray(m) || !Object.values(m).every((v) => typeof v === 'string')) {
    throw new FieldError('metadata', 'metadata must be an object of strings');
  }
  return m as Record<string, string>;
}

/** A chunking_strategy: auto (the defaults) or static {max_chunk_size_tokens, chunk_overlap_tokens}. */
function chunking(b: Body): { maxTokens?: number; overlap?: number } | undefined {
  const c = b.chunking_strategy as Body | undefined;
  if (c === undefined || c === null) return undefined;
  if (c.type === 'auto') return undefined;
  if (c.type !== 'static' || typeof c.static !== 'object' || c.static === null) {
    throw new FieldError('chunking_strategy', 'chunking_strategy must be {type: "auto"} or {type: "static", static: {max_chunk_size_tokens, chunk_overlap_tokens}}');
  }
  const s = c.static as Body;
  return { maxTokens: s.max_chunk_size_tokens as number, overlap: s.chunk_overlap_tokens as number };
}

export function knowledgeRoutes(app: FastifyInstance, kb: KnowledgeBase, o: KnowledgeRouteOptions = {}): void {
  const fileLimit = o.fileLimit ?? DEFAULT_FILE_LIMIT;

  // Multipart for the upload only: every other route keeps the JSON body parser.
  app.register(async (scope) => {
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', bodyLimit: fileLimit }, (_req, buf, done) => done(null, buf));
    scope.post('/v1/files', { bodyLimit: fileLimit }, async (request) => {
      const type = request.headers['content-type'] ?? '';
      if (!/^multipart\/form-data/i.test(type)) throw new HearthError('unsupported_media_type', 'POST /v1/files takes multipart/form-data with "file" and "purpose"');
      let form: FormData;
      try {
        form = await new Response(request.body as Buffer, { headers: { 'content-type': type } }).formData();
      } catch (e) {
        throw new HearthError('invalid_argument', `the multipart body cannot be read: ${(e as Error).message}`);
      }
      const file = form.get('file');
      const purpose = form.get('purpose');
      if (typeof purpose !== 'string' || purpose === '') throw new FieldError('purpose', 'purpose is required (assistants, user_data, …)');
      if (file === null || typeof file === 'string') throw new FieldError('file', 'file is required: a file part of the form');
      const f = kb.createFile(file.name || 'upload', purpose, new Uint8Array(await file.arrayBuffer()));
      return fileJson(f);
    });
  });

  app.get('/v1/files', async (request) => {
    const purpose = (request.query as Record<string, string | undefined>).purpose;
    return list(kb.files(purpose).map(fileJson));
  });
  app.get('/v1/files/:id', async (request) => fileJson(kb.requireFile((request.params as { id: string }).id)));
  app.delete('/v1/files/:id', async (request) => {
    const { id } = request.params as { id: string };
    kb.requireFile(id);
    kb.deleteFile(id);
    return { id, object: 'file', deleted: true };
  });
  app.get('/v1/files/:id/content', async (request, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    const f = kb.requireFile(id);
    reply.header('content-type', 'application/octet-stream').header('content-disposition', `attachment; filename="${encodeURIComponent(f.filename)}"`);
    return reply.send(Buffer.from(kb.content(id)));
  });

  app.post('/v1/vector_stores', async (request) => {
    requireJsonContentType(request);
    const b = body(request.body);
    const model = optString(b, 'embedding_model') ?? o.defaultEmbeddingModel;
    if (model === undefined) {
      throw new FieldError('embedding_model', 'name a local embedding model: the request\'s "embedding_model", or start the server with --embedding-model');
    }
    const ids = b.file_ids ?? [];
    if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string')) throw new FieldError('file_ids', 'file_ids must be an array of file ids');
    for (const id of ids as string[]) kb.requireFile(id);
    const c = chunking(b);
    const v = await kb.createStore({ name: optString(b, 'name') ?? '', model, metadata: metadata(b) });
    for (const id of ids as string[]) kb.attach(v.id, id, { chunking: c });
    return storeJson(kb, v);
  });
  app.get('/v1/vector_stores', async () => list(kb.stores().map((v) => storeJson(kb, v))));
  app.get('/v1/vector_stores/:id', async (request) => storeJson(kb, kb.requireStore((request.params as { id: string }).id)));
  app.post('/v1/vector_stores/:id', async (request) => {
    requireJsonContentType(request);
    const b = body(request.body);
    return storeJson(kb, kb.updateStore((request.params as { id: string }).id, { name: optString(b, 'name'), metadata: metadata(b) }));
  });
  app.delete('/v1/vector_stores/:id', async (request) => {
    const { id } = request.params as { id: string };
    kb.requireStore(id);
    kb.deleteStore(id);
    return { id, object: 'vector_store.deleted', deleted: true };
  });

  app.post('/v1/vector_stores/:id/files', async (request) => {
    requireJsonContentType(request);
    const b = body(request.body);
    const fileId = optString(b, 'file_id');
    if (fileId === undefined) throw new FieldError('file_id', 'file_id is required');
    const f = kb.attach((request.params as { id: string }).id, fileId, { attributes: parseAttributes(b.attributes), chunking: chunking(b) });
    return storeFileJson(f);
  });
  app.get('/v1/vector_stores/:id/files', async (request) => {
    const { id } = request.params as { id: string };
    kb.requireStore(id);
    const filter = (request.query as Record<string, string | undefined>).filter;
    return list(kb.storeFiles(id).filter((f) => filter === undefined || f.status === filter).map(storeFileJson));
  });
  app.get('/v1/vector_stores/:id/files/:file_id', async (request) => {
    const { id, file_id } = request.params as { id: string; file_id: string };
    kb.requireStore(id);
    const f = kb.storeFile(id, file_id);
    if (!f) throw new HearthError('not_found', `file ${file_id} is not in vector store ${id}`);
    return storeFileJson(f);
  });
  app.delete('/v1/vector_stores/:id/files/:file_id', async (request) => {
    const { id, file_id } = request.params as { id: string; file_id: string };
    kb.requireStore(id);
    if (!kb.detach(id, file_id)) throw new HearthError('not_found', `file ${file_id} is not in vector store ${id}`);
    return { id: file_id, object: 'vector_store.file.deleted', deleted: true };
  });

  app.post('/v1/vector_stores/:id/search', async (request) => {
    requireJsonContentType(request);
    const b = body(request.body);
    const { id } = request.params as { id: string };
    const q = b.query;
    const query = Array.isArray(q) && q.every((x) => typeof x === 'string') ? q.join(' ') : q;
    if (typeof query !== 'string' || query.trim() === '') throw new FieldError('query', 'query must be a non-empty string (or an array of strings)');
    const max = b.max_num_results;
    if (max !== undefined && typeof max !== 'number') throw new FieldError('max_num_results', 'max_num_results must be an integer from 1 to 50');
    const ranking = (b.ranking_options ?? {}) as Body;
    const threshold = ranking.score_threshold;
    if (threshold !== undefined && typeof threshold !== 'number') throw new FieldError('ranking_options.score_threshold', 'score_threshold must be a number');
    const ranker = ranking.ranker;
    if (ranker !== undefined && ranker !== 'auto' && ranker !== 'default-2024-11-15' && ranker !== 'none') {
      throw new FieldError('ranking_options.ranker', `ranker ${JSON.stringify(ranker)} is not one this server has: auto (hybrid BM25 + vector, reciprocal rank fusion)`);
    }
    const mode = b.search_mode ?? 'hybrid';
    if (mode !== 'hybrid' && mode !== 'keyword' && mode !== 'vector') throw new FieldError('search_mode', 'search_mode (a Hearth field) must be hybrid, keyword or vector');
    const hits = await kb.search(id, {
      query, maxResults: max, scoreThreshold: threshold, mode: mode as SearchMode,
      filter: b.filters === undefined || b.filters === null ? undefined : parseFilter(b.filters),
    });
    return { object: 'vector_store.search_results.page', search_query: query, data: hits.map(searchHitJson), has_more: false, next_page: null };
  });
}
