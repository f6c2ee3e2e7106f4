// Reranking: POST /v1/rerank and /rerank (llama-server also names them /v1/reranking and /reranking), in the
// Jina/Cohere shape or TEI's (see api/rerank/rerank.ts).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { rerankRequestFromWire, rerankResponse } from '../../api/rerank/rerank.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { capabilityError, clientSignal, requireCapability, useModel, type RouteContext } from '../respond.ts';

export const RERANK_ROUTES = ['/v1/rerank', '/rerank', '/v1/reranking', '/reranking'] as const;

export function rerankRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    requireJsonContentType(request);
    const req = rerankRequestFromWire(request.body);
    const provider = await useModel(ctx, request, reply, req.model);
    requireCapability(provider, 'rerank');
    if (!provider.rerank) throw capabilityError(provider, 'rerank', 'its provider has no reranking');
    const { scores, tokens } = await provider.rerank(req.query, req.documents, clientSignal(reply));
    request.hearth.promptTokens = tokens;
    return rerankResponse(req, scores, tokens);
  };
  for (const url of RERANK_ROUTES) app.post(url, handler);
}
