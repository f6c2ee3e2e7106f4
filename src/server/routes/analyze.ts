// The image-analysis service over HTTP: POST /api/v1/analyze (JSON or multipart/form-data), POST /api/v1/batch,
// GET and DELETE /api/v1/batch/{id} (?wait=true answers once the job is done), GET /api/v1/models (vision models).
// Every route needs the `inference` scope; a batch is read and cancelled with the key that created it.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { analysisJson, analyzeFormBody, readAnalyzeRequest, readBatchRequest } from '../../api/analyze.ts';
import type { Batch, BatchItem, BatchStore } from '../../store/batches.ts';
import type { AnalysisService, BatchRunner } from '../analysis.ts';
import { clientSignal } from '../respond.ts';
import { checkModel } from '../middleware/auth.ts';
import type { ModelManager } from '../../provider/model-manager.ts';
import type { RateLimiter } from '../middleware/rate-limit.ts';

const ownerOf = (request: FastifyRequest): string | undefined => request.hearthAuth?.key?.id;

function batchJson(b: Batch, items?: BatchItem[]): Record<string, unknown> {
  const done = b.counts.completed + b.counts.failed + b.counts.cancelled;
  return {
    id: b.id, status: b.status, model: b.model, total: b.total, concurrency: b.concurrency,
    progress: { completed: b.counts.completed, failed: b.counts.failed, cancelled: b.counts.cancelled, running: b.counts.running, pending: b.counts.pending, done },
    created_at: b.createdAt, ...(b.finishedAt !== undefined ? { finished_at: b.finishedAt } : {}),
    ...(items ? {
      items: items.map((it) => ({
        index: it.seq, status: it.status, attempts: it.attempts,
        ...(it.result !== undefined ? { result: analysisJson(it.result as Parameters<typeof analysisJson>[0]) } : {}),
        ...(it.error !== undefined ? { error: it.error } : {}),
      })),
    } : {}),
  };
}

export interface AnalyzeRouteOptions {
  /** Largest multipart body (default: the app's body limit). */
  bodyLimit?: number;
  /** The rate limiter of the security layer (a ?wait=true request gives its concurrency slot back while it waits). */
  limiter?: RateLimiter;
}

export function analyzeRoutes(app: FastifyInstance, models: ModelManager, service: AnalysisService, runner: BatchRunner, store: BatchStore, o: AnalyzeRouteOptions = {}): void {
  // a key with a model allow-list is held to it when the request leaves the model to the server's default
  const allowDefault = (request: FastifyRequest, model: string | undefined) => {
    const key = request.hearthAuth?.key;
    if (key?.models && model === undefined) checkModel(key, service.modelName(undefined), (n) => models.canonical(n));
  };
  app.register(async (scope) => {
    // multipart for this route only: every other route keeps the JSON body parser
    scope.addContentTypeParser('multipart/form-data', { parseAs: 'buffer', ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}) }, (_req, buf, done) => done(null, buf));
    scope.post('/api/v1/analyze', async (request, reply) => {
      const type = request.headers['content-type'] ?? '';
      let body = request.body;
      if (/^multipart\/form-data/i.test(type)) {
        let form: FormData;
        try {
          form = await new Response(request.body as Buffer, { headers: { 'content-type': type } }).formData();
        } catch (e) {
          throw new HearthError('invalid_argument', `the multipart body cannot be read: ${(e as Error).message}`);
        }
        body = await analyzeFormBody(form);
        // the key's model allow-list reads the body's model (security.ts reads it before the form is parsed)
        const auth = request.hearthAuth;
        const model = (body as { model?: unknown }).model;
        if (auth?.key?.models && typeof model === 'string') checkModel(auth.key, model, (n) => models.canonical(n));
      }
      const req = readAnalyzeRequest(body);
      allowDefault(request, req.model);
      const run = await service.analyze(req, clientSignal(reply));
      request.hearth.model = run.analysis.model;
      request.hearth.promptTokens = run.analysis.inputTokens;
      request.hearth.completionTokens = run.analysis.outputTokens;
      if (run.origin) {
        request.hearth.provider = run.origin.provider;
        request.hearth.upstreamModel = run.origin.model;
      }
      return analysisJson(run.analysis);
    });
  });

  app.post('/api/v1/batch', async (request, reply) => {
    const req = readBatchRequest(request.body);
    allowDefault(request, req.model);
    const b = runner.create(req, ownerOf(request));
    request.hearth.model = b.model;
    return reply.code(202).send({ id: b.id, status: b.status, total: b.total });
  });

  app.get('/api/v1/batch/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const wait = (request.query as Record<string, string | undefined>).wait;
    const find = () => {
      const b = store.get(id, ownerOf(request));
      if (!b) throw new HearthError('not_found', `no batch ${id}`);
      return b;
    };
    if (find().status === 'running' && (wait === 'true' || wait === '1')) {
      // a request waiting on a batch holds none of its key's concurrency: the batch's items need it
      const auth = request.hearthAuth;
      if (auth?.admitted && auth.key && o.limiter) {
        auth.admitted = false;
        await o.limiter.release(auth.key.id, auth.key, 0);
      }
      await runner.wait(id, clientSignal(reply));
    }
    return batchJson(find(), store.items(id));
  });

  app.delete('/api/v1/batch/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (!store.get(id, ownerOf(request))) throw new HearthError('not_found', `no batch ${id}`);
    runner.cancel(id);
    await runner.wait(id);
    return batchJson(store.get(id, ownerOf(request))!, store.items(id));
  });

  app.get('/api/v1/models', async () => {
    await service.refresh();
    return { models: service.visionModels() };
  });
}
