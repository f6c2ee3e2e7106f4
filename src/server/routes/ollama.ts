// Ollama-compatible routes: /api/generate, /api/chat, /api/embed, /api/embeddings, /api/tags, /api/show, /api/ps,
// /api/version and GET /.

import type { FastifyInstance } from 'fastify';
import {
  chatRequestFromOllama, generateRequestFromOllama, ollamaLoadResponse, ollamaResponse, ollamaStreamEvent,
  type OllamaRequest,
} from '../../api/ollama/generate.ts';
import {
  embedRequestFromOllama, embedResponse, psResponse, showRequestFromOllama, showResponse, tagsResponse,
} from '../../api/ollama/models.ts';
import { ollamaError } from '../../api/errors.ts';
import { ThinkingSplitter } from '../../api/ollama/thinking.ts';
import { checkDimensions, shortenEmbeddings } from '../../api/embedding-dimensions.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { generateAndReply, requireCapability, resolveModel, type RouteContext } from '../respond.ts';
import { ndjsonLine } from '../sse.ts';

/** `models: false` leaves /api/tags and /api/show to the library's routes (routes/library.ts). */
export function ollamaRoutes(app: FastifyInstance, ctx: RouteContext, o: { models?: boolean } = {}): void {
  const generating = (kind: 'generate' | 'chat', parse: (body: unknown) => OllamaRequest) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { native, loadOnly, think } = parse(request.body);
      const provider = resolveModel(ctx, native.model);
      // As Ollama: asking a model without a thinking mode to think is an error; think false is always fine.
      if (think) requireCapability(provider, 'thinking');
      const model = native.model;
      if (loadOnly) {
        request.hearth.model = provider.card.id;
        const body = ollamaLoadResponse(kind, model, ctx.now());
        return native.stream ? reply.header('content-type', 'application/x-ndjson').send(ndjsonLine(body)) : body;
      }
      return generateAndReply(ctx, request, reply, native, {
        json: ([r]) => ollamaResponse(kind, model, r, ctx.now(), think === true),
        stream: () => {
          const splitter = think ? new ThinkingSplitter() : undefined;
          return {
            format: 'ndjson',
            event: (ev) => ollamaStreamEvent(kind, model, ev, ctx.now(), splitter).map(ndjsonLine),
            error: (info) => ndjsonLine(ollamaError(info)),
          };
        },
      });
    };

  app.post('/api/generate', generating('generate', generateRequestFromOllama));
  app.post('/api/chat', generating('chat', chatRequestFromOllama));

  const embedding = (legacy: boolean) => async (request: FastifyRequest) => {
    const t0 = performance.now();
    const req = embedRequestFromOllama(request.body, legacy);
    const provider = resolveModel(ctx, req.model);
    request.hearth.model = provider.card.id;
    requireCapability(provider, 'embeddings');
    checkDimensions(req.dimensions, provider.card.nEmbd);
    const inputs = req.inputs.map((text) => ({ kind: 'text' as const, text }));
    const embedded = await provider.embed(inputs, { truncate: req.truncate });
    const vectors = shortenEmbeddings(embedded.vectors, req.dimensions);
    request.hearth.promptTokens = embedded.tokens;
    if (legacy) return { embedding: Array.from(vectors[0]) };
    return embedResponse(req.model, vectors, embedded.tokens, performance.now() - t0);
  };
  app.post('/api/embed', embedding(false));
  app.post('/api/embeddings', embedding(true));

  if (o.models !== false) app.get('/api/tags', async () => tagsResponse(ctx.models.loaded().map((p) => p.card)));
  app.get('/api/ps', async () => psResponse(ctx.models.loaded().map((p) => p.card)));
  if (o.models !== false) {
    app.post('/api/show', async (request) => {
      const req = showRequestFromOllama(request.body);
      const provider = resolveModel(ctx, req.model);
      return showResponse(provider.card, provider.metadata?.() ?? {});
    });
  }
  app.get('/api/version', async () => ({ version: ctx.version }));
  app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Hearth is running'));
}
