// OpenAI-compatible routes: /v1/chat/completions, /v1/completions, /v1/embeddings (/v1/models is the library's: routes/library.ts).

import type { FastifyInstance } from 'fastify';
import { chatRequestFromOpenAI, chatCompletion, ChatStreamEncoder } from '../../api/openai/chat.ts';
import { completionRequestFromOpenAI, completion, CompletionStreamEncoder } from '../../api/openai/completions.ts';
import { embeddingsRequestFromOpenAI, embeddingsResponse } from '../../api/openai/embeddings.ts';
import type { ResponseMeta } from '../../api/openai/common.ts';
import { openaiError } from '../../api/errors.ts';
import { checkDimensions, shortenEmbeddings } from '../../api/embedding-dimensions.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { generateAndReply, requireCapability, useModel, type RouteContext } from '../respond.ts';
import { SSE_DONE, sseData } from '../sse.ts';
import { conversationTurn } from '../conversations.ts';

/** /v1/models is the library's (routes/library.ts). */
export function openaiRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const meta = (prefix: string, model: string): ResponseMeta => ({
    id: ctx.newId(prefix), created: Math.floor(ctx.now().getTime() / 1000), model, systemFingerprint: `hearth-${ctx.version}`,
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    requireJsonContentType(request);
    const req = chatRequestFromOpenAI(request.body);
    const m = meta('chatcmpl-', req.model);
    const turn = await conversationTurn(ctx, request, reply, req);
    return generateAndReply(ctx, request, reply, req, turn.provider, turn.wrap({
      json: (results) => chatCompletion(results, m),
      stream: () => {
        const enc = new ChatStreamEncoder(m, { includeUsage: req.includeUsage, logprobs: req.logprobs !== undefined });
        return {
          format: 'sse',
          start: () => enc.start(req.n).map(sseData),
          event: (ev) => enc.event(ev).map(sseData),
          end: (results) => [...enc.end(results).map(sseData), SSE_DONE],
          error: (info) => sseData(openaiError(info)),
        };
      },
    }));
  });

  app.post('/v1/completions', async (request, reply) => {
    requireJsonContentType(request);
    const req = completionRequestFromOpenAI(request.body);
    const m = meta('cmpl-', req.model);
    return generateAndReply(ctx, request, reply, req, undefined, {
      json: (results) => completion(results, m),
      stream: () => {
        const enc = new CompletionStreamEncoder(m, { includeUsage: req.includeUsage, logprobs: req.logprobs !== undefined });
        return {
          format: 'sse',
          event: (ev) => enc.event(ev).map(sseData),
          end: (results) => [...enc.end(results).map(sseData), SSE_DONE],
          error: (info) => sseData(openaiError(info)),
        };
      },
    });
  });

  app.post('/v1/embeddings', async (request, reply) => {
    requireJsonContentType(request);
    const req = embeddingsRequestFromOpenAI(request.body);
    const provider = await useModel(ctx, request, reply, req.model);
    requireCapability(provider, 'embeddings');
    checkDimensions(req.dimensions, provider.card.nEmbd);
    const { vectors, tokens } = await provider.embed(req.inputs, { truncate: false });
    request.hearth.promptTokens = tokens;
    return embeddingsResponse(shortenEmbeddings(vectors, req.dimensions), tokens, req.model, req.encoding);
  });
}
