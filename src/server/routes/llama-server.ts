// llama-server's native endpoints: POST /completion (and /completions), /infill, /tokenize, /detokenize,
// /apply-template, /embedding (and /embeddings), GET /props (POST /props: admin), GET /slots. llama-server serves one
// model; here each request may name one in `model` (the query's `?model=` on the GET routes), else it goes to the
// only model loaded, else to the only model served, and is a 400 when that is ambiguous. Bodies are read as
// llama-server reads them: unknown fields are ignored (api/llama-server/fields.ts), any content type is JSON.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';
import { llamaError } from '../../api/errors.ts';
import { FieldError, type Fields } from '../../api/validate.ts';
import { endFields, llamaFields, readModel } from '../../api/llama-server/fields.ts';
import {
  completionRequestFromLlama, completionResponse, infillRequestFromLlama, LlamaStreamEncoder, type LlamaCompletionRequest,
} from '../../api/llama-server/completion.ts';
import {
  applyTemplateRequestFromLlama, detokenize, detokenizeRequestFromLlama, embeddingRequestFromLlama, embeddingResponse,
  tokenizeContent, tokenizeRequestFromLlama, tokenizeResponse,
} from '../../api/llama-server/tokens.ts';
import { propsResponse, slotsResponse } from '../../api/llama-server/props.ts';
import type { Tokenizer } from '../../tokenizer/types.ts';
import type { Provider } from '../../provider/types.ts';
import { checkModel } from '../middleware/auth.ts';
import { capabilityError, generateAndReply, requireCapability, useModel, type RouteContext } from '../respond.ts';
import { sseData } from '../sse.ts';

export const LLAMA_COMPLETION_ROUTES = ['/completion', '/completions'] as const;
export const LLAMA_EMBEDDING_ROUTES = ['/embedding', '/embeddings'] as const;

/**
 * The name of the model a request means: the one it names, else the only model loaded (or loading), else the only
 * one served. Several candidates and no name is a 400 that lists them.
 */
export function defaultModelName(ctx: RouteContext, named: string | undefined): string {
  if (named !== undefined) return named;
  const loaded = ctx.models.list().map((m) => m.name);
  if (loaded.length === 1) return loaded[0]!;
  const served = ctx.models.source.list().map((m) => m.name);
  if (loaded.length === 0 && served.length === 1) return served[0]!;
  if (loaded.length === 0 && served.length === 0) throw new FieldError('model', 'this server has no models (pull one, or start it with a model file)', 'not_found');
  const names = (loaded.length ? loaded : served).map((n) => `"${n}"`).join(', ');
  throw new FieldError('model', `this server ${loaded.length ? 'has several models loaded' : 'serves several models'} (${names}); name one in the model field`);
}

export function llamaServerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  /** The provider a request means (see defaultModelName); a key's model allow-list applies to the model chosen. */
  const model = async (request: FastifyRequest, reply: FastifyReply, named: string | undefined): Promise<Provider> => {
    const name = defaultModelName(ctx, named);
    // The body's model was checked before the handler; a chosen one, or one named in the query, is checked here.
    const key = request.hearthAuth?.key;
    if (key?.models) checkModel(key, name, (n) => ctx.models.canonical(n));
    return useModel(ctx, request, reply, name);
  };
  const queryModel = (request: FastifyRequest): string | undefined => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    return typeof q.model === 'string' && q.model !== '' ? q.model : undefined;
  };
  const vocabOf = (provider: Provider): Tokenizer => {
    if (!provider.tokenizer) throw capabilityError(provider, 'completion', 'its provider exposes no vocabulary to tokenize with');
    return provider.tokenizer;
  };

  const generating = (read: (f: Fields, vocab: Tokenizer | undefined) => LlamaCompletionRequest) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const f = llamaFields(request.body);
      const provider = await model(request, reply, readModel(f));
      const req = read(f, provider.tokenizer);
      req.native.model = provider.card.id;
      const meta = { model: provider.card.id, vocab: provider.tokenizer };
      return generateAndReply(ctx, request, reply, req.native, provider, {
        json: (results) => completionResponse(results, req, meta),
        stream: () => {
          const enc = new LlamaStreamEncoder(req, meta);
          return {
            format: 'sse',
            start: (run) => {
              enc.start(run.promptTokens);
              return [];
            },
            event: (ev) => enc.event(ev).map(sseData),
            error: (info) => sseData(llamaError(info)),
          };
        },
      });
    };
  for (const url of LLAMA_COMPLETION_ROUTES) app.post(url, generating(completionRequestFromLlama));
  app.post('/infill', generating(infillRequestFromLlama));

  app.post('/tokenize', async (request, reply) => {
    const f = llamaFields(request.body);
    const provider = await model(request, reply, readModel(f));
    const vocab = vocabOf(provider);
    const req = tokenizeRequestFromLlama(f);
    const ids = tokenizeContent(vocab, req);
    request.hearth.promptTokens = ids.length;
    return tokenizeResponse(vocab, ids, req.withPieces);
  });

  app.post('/detokenize', async (request, reply) => {
    const f = llamaFields(request.body);
    const provider = await model(request, reply, readModel(f));
    const vocab = vocabOf(provider);
    return { content: detokenize(vocab, detokenizeRequestFromLlama(f, vocab)) };
  });

  app.post('/apply-template', async (request, reply) => {
    const f = llamaFields(request.body);
    const provider = await model(request, reply, readModel(f));
    const input = applyTemplateRequestFromLlama(f);
    if (!provider.chatPromptText) throw capabilityError(provider, 'chat', 'its provider does not render chat templates here');
    return { prompt: provider.chatPromptText(input) };
  });

  const embedding = async (request: FastifyRequest, reply: FastifyReply) => {
    const f = llamaFields(request.body);
    const provider = await model(request, reply, readModel(f));
    requireCapability(provider, 'embeddings');
    const req = embeddingRequestFromLlama(f);
    const { vectors, tokens } = await provider.embed(req.inputs, { truncate: false });
    request.hearth.promptTokens = tokens;
    return embeddingResponse(vectors, req.normalize);
  };
  for (const url of LLAMA_EMBEDDING_ROUTES) app.post(url, embedding);

  const counts = (provider: Provider) => provider.stats?.() ?? { slots: 1, busy: 0, queued: 0 };

  app.get('/props', async (request, reply) => {
    const provider = await model(request, reply, queryModel(request));
    return propsResponse({ card: provider.card, counts: counts(provider), version: ctx.version });
  });

  // Changing global properties needs the admin scope (the access table does not list this route); llama-server
  // documents no property to change yet, so an admin's request changes nothing and says so.
  app.post('/props', async (request) => {
    endFields(llamaFields(request.body ?? {}));
    return { success: true };
  });

  app.get('/slots', async (request, reply) => {
    const provider = await model(request, reply, queryModel(request));
    const c = counts(provider);
    const q = (request.query ?? {}) as Record<string, unknown>;
    const failOnNoSlot = q.fail_on_no_slot !== undefined && q.fail_on_no_slot !== '0' && q.fail_on_no_slot !== 'false';
    if (failOnNoSlot && c.busy >= c.slots) throw new HearthError('unavailable', 'no slot available');
    return slotsResponse(provider.card, c);
  });
}
