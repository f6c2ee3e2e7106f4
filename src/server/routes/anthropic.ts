// Anthropic-compatible routes: POST /v1/messages and /v1/messages/count_tokens.

import type { FastifyInstance } from 'fastify';
import {
  countTokensRequestFromAnthropic, messageResponse, messagesRequestFromAnthropic, MessagesStreamEncoder,
} from '../../api/anthropic/messages.ts';
import { anthropicError } from '../../api/errors.ts';
import { requireJsonContentType } from '../middleware/json-body.ts';
import { generateAndReply, useModel, type RouteContext } from '../respond.ts';
import { sseEvent } from '../sse.ts';
import { conversationTurn } from '../conversations.ts';
import { templateReasons } from '../../chat/tool-parsers.ts';

export function anthropicRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/messages', async (request, reply) => {
    requireJsonContentType(request);
    const req = messagesRequestFromAnthropic(request.body);
    const meta = { id: ctx.newId('msg_'), model: req.model };
    const provider = await useModel(ctx, request, reply, req.model);
    const turn = await conversationTurn(ctx, request, reply, req, provider);
    return generateAndReply(ctx, request, reply, req, provider, turn.wrap({
      json: ([r]) => messageResponse(r, meta),
      stream: () => {
        const p = req.prompts[0];
        const enc = new MessagesStreamEncoder(meta, {
          tools: p.kind === 'chat' && p.tools !== undefined && p.toolChoice !== 'none',
          reasoning: templateReasons(provider.card.chatTemplate),
        });
        const frames = (events: { event: string; data: unknown }[]) => events.map((e) => sseEvent(e.event, e.data));
        return {
          format: 'sse',
          start: (run) => frames(enc.start(run.promptTokens[0])),
          event: (ev) => frames(enc.event(ev)),
          error: (info) => sseEvent('error', anthropicError(info)),
        };
      },
    }));
  });

  app.post('/v1/messages/count_tokens', async (request, reply) => {
    requireJsonContentType(request);
    const req = countTokensRequestFromAnthropic(request.body);
    const provider = await useModel(ctx, request, reply, req.model);
    const tokens = await provider.countTokens(req.prompt);
    request.hearth.promptTokens = tokens;
    return { input_tokens: tokens };
  });
}
