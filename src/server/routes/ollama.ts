// Ollama-compatible routes: /api/generate, /api/chat, /api/embed, /api/embeddings, /api/version and GET /
// (/api/tags, /api/show and /api/ps are the library's: routes/library.ts).

import type { FastifyInstance } from 'fastify';
import {
  chatRequestFromOllama, generateRequestFromOllama, ollamaLoadResponse, ollamaResponse, ollamaStreamEvent,
  type OllamaRequest,
} from '../../api/ollama/generate.ts';
import { embedRequestFromOllama, embedResponse } from '../../api/ollama/models.ts';
import { ollamaError } from '../../api/errors.ts';
import { ThinkingSplitter } from '../../api/ollama/thinking.ts';
import { checkDimensions, shortenEmbeddings } from '../../api/embedding-dimensions.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { generateAndReply, requireCapability, useModel, type Answer, type RouteContext } from '../respond.ts';
import { conversationTurn } from '../conversations.ts';
import { ndjsonLine } from '../sse.ts';
import { FieldError } from '../../api/validate.ts';

export function ollamaRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const generating = (kind: 'generate' | 'chat', parse: (body: unknown) => OllamaRequest) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const { native, loadOnly, think } = parse(request.body);
      const model = native.model;
      const answer = (reason: 'load' | 'unload') => {
        const body = ollamaLoadResponse(kind, model, ctx.now(), reason);
        return native.stream ? reply.header('content-type', 'application/x-ndjson').send(ndjsonLine(body)) : body;
      };
      // As Ollama (and `ollama stop`): no prompt and keep_alive 0 unloads the model without loading it first.
      if (loadOnly && native.keepAliveMs === 0) {
        if (!ctx.models.lookup(model)) throw new FieldError('model', ctx.models.notFound(model).message, 'not_found');
        request.hearth.model = ctx.models.canonical(model);
        await ctx.models.unload(model);
        return answer('unload');
      }
      const provider = await useModel(ctx, request, reply, model, native.keepAliveMs);
      // As Ollama: asking a model without a thinking mode to think is an error; think false is always fine.
      if (think) requireCapability(provider, 'thinking');
      if (loadOnly) return answer('load');
      const turn = kind === 'chat' ? await conversationTurn(ctx, request, reply, native, provider) : { provider, wrap: (a: Answer) => a };
      return generateAndReply(ctx, request, reply, native, turn.provider, turn.wrap({
        json: ([r]) => ollamaResponse(kind, model, r, ctx.now(), think === true),
        stream: () => {
          const splitter = think ? new ThinkingSplitter() : undefined;
          return {
            format: 'ndjson',
            event: (ev) => ollamaStreamEvent(kind, model, ev, ctx.now(), splitter).map(ndjsonLine),
            error: (info) => ndjsonLine(ollamaError(info)),
          };
        },
      }));
    };

  app.post('/api/generate', generating('generate', generateRequestFromOllama));
  app.post('/api/chat', generating('chat', chatRequestFromOllama));

  const embedding = (legacy: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    const t0 = performance.now();
    const req = embedRequestFromOllama(request.body, legacy);
    const provider = await useModel(ctx, request, reply, req.model, req.keepAliveMs);
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

  app.get('/api/version', async () => ({ version: ctx.version }));
  app.get('/', async (_request, reply) => reply.type('text/plain; charset=utf-8').send('Hearth is running'));
}
