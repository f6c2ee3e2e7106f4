// Hearth as an MCP server: the tools an MCP host (an editor, a desktop app) calls to use this server's models and
// knowledge base. One McpServer per caller: `hearth mcp` makes one for its stdio peer, POST /mcp one per request
// (routes/mcp.ts), each with the caller's permissions. Every tool runs the same path as the HTTP API it mirrors
// (generate and analyze_image: /v1/chat/completions' converter and the provider; embed: /v1/embeddings'; search:
// the vector store search), so a tool's answer equals that endpoint's. A failure is a tool result with isError,
// never a protocol error: the host's model reads it and the server goes on.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { HearthError } from '../../util/errors.ts';
import { FieldError } from '../../api/validate.ts';
import type { ErrorInfo } from '../../api/errors.ts';
import type { Capability, ChoiceResult } from '../../api/native.ts';
import { capabilityNames } from '../../api/native.ts';
import { chatRequestFromOpenAI } from '../../api/openai/chat.ts';
import { embeddingsRequestFromOpenAI } from '../../api/openai/embeddings.ts';
import { checkDimensions, shortenEmbeddings } from '../../api/embedding-dimensions.ts';
import type { Scope } from '../../store/keys.ts';
import type { ModelManager } from '../../provider/model-manager.ts';
import type { Provider } from '../../provider/types.ts';
import type { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { requireCapability } from '../respond.ts';
import { errorInfo } from '../errors.ts';
import { openaiModel } from '../routes/library.ts';
import type { RequestStats } from '../middleware/request-log.ts';

/** What the tools reach. */
export interface McpToolDeps {
  models: ModelManager;
  /** The knowledge base knowledge_search reads (none: the tool says so). */
  knowledge?: KnowledgeBase;
  version: string;
}

/** One tool call's outcome, for the usage audit, the rate limiter's token count and the metrics. */
export interface ToolCallRecord extends Pick<RequestStats, 'model' | 'promptTokens' | 'completionTokens' | 'provider' | 'upstreamModel' | 'tokensEstimated'> {
  tool: string;
  /** A generation's finished choices (metrics). */
  results?: ChoiceResult[];
  /** Why the call failed; absent when it succeeded. */
  error?: ErrorInfo;
}

/** Who calls: what they may use, and where their calls are recorded. */
export interface McpCaller {
  /** Throws `forbidden` unless the caller holds the scope. */
  authorize(scope: Scope): void;
  /** Throws `forbidden` unless the caller may use the model. */
  checkModel(model: string): void;
  record?(call: ToolCallRecord): void;
  /** Aborted when the caller goes away (a tool call's own cancellation is added to it). */
  signal?: AbortSignal;
}

/** The scope each tool needs: generating and reading the knowledge base are inference, as on the HTTP API. */
export const TOOL_SCOPES = {
  generate: 'inference',
  embed: 'inference',
  knowledge_search: 'inference',
  analyze_image: 'inference',
  list_models: 'models:read',
} as const satisfies Record<string, Scope>;

export type ToolName = keyof typeof TOOL_SCOPES;

const MESSAGE = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

const SAMPLING = {
  max_tokens: z.number().int().min(1).optional().describe('most tokens to generate (default: until the model stops or its context is full)'),
  temperature: z.number().min(0).max(2).optional().describe('0 is greedy (the same answer each time); default 0.8'),
};

const USAGE = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() });
const GENERATED = {
  model: z.string(), text: z.string(), finish_reason: z.string(), usage: USAGE, reasoning: z.string().optional(),
};

/**
 * A tool's failure as its result: the message a person (or the host's model) can act on, and in `_meta` the error's
 * code and HTTP status as the API would answer (no structuredContent: a client checks that against the output schema).
 */
function failure(info: ErrorInfo): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: info.message }],
    _meta: { 'hearth/error': { code: info.code, status: info.status, ...(info.param ? { param: info.param } : {}) } },
  };
}

function success(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** The MCP server of one caller, with every tool registered. */
export function createMcpServer(deps: McpToolDeps, caller: McpCaller): McpServer {
  const server = new McpServer({ name: 'hearth', title: 'Hearth', version: deps.version }, {
    capabilities: { tools: {} },
    instructions: 'Hearth serves local models (and upstream providers through its gateway) and a knowledge base of vector stores. ' +
      'Call list_models for the model names; generate, embed and analyze_image take one (or use the server\'s only, or loaded, one); ' +
      'knowledge_search searches a vector store by id or name.',
  });
  const { models } = deps;

  /** Runs a tool with the caller's scope checked; every error becomes an isError result, recorded with its status. */
  const run = (tool: ToolName, body: (rec: ToolCallRecord, signal: AbortSignal | undefined) => Promise<CallToolResult>) =>
    async (extra: { signal: AbortSignal }): Promise<CallToolResult> => {
      const rec: ToolCallRecord = { tool };
      const signal = caller.signal ? AbortSignal.any([caller.signal, extra.signal]) : extra.signal;
      try {
        caller.authorize(TOOL_SCOPES[tool]);
        const result = await body(rec, signal);
        caller.record?.(rec);
        return result;
      } catch (e) {
        rec.error = errorInfo(e);
        caller.record?.(rec);
        return failure(rec.error);
      }
    };

  /**
   * The name a tool uses: the one asked for, else a loaded model that can do `cap`, else the server's only model.
   * The caller's model allow-list applies either way.
   */
  const pick = (asked: string | undefined, cap: Capability): string => {
    if (asked !== undefined) return asked;
    const loaded = models.list().find((m) => m.state === 'ready' && m.card?.capabilities[cap]);
    if (loaded) return loaded.name;
    const all = models.source.list();
    if (cap !== 'vision' && all.length === 1) return all[0]!.name;
    if (cap === 'vision') throw new FieldError('model', 'no model that reads images is loaded: serve a vision model with its --mmproj file, or name one in "model"');
    throw new FieldError('model', `name a model in "model": this server serves ${all.map((m) => `"${m.name}"`).join(', ') || 'no models'} (list_models)`);
  };

  /** A lease on the model for one call, released when `use` settles. */
  const withModel = async <T>(name: string, rec: ToolCallRecord, use: (p: Provider) => Promise<T>): Promise<T> => {
    rec.model = name;
    caller.checkModel(name);
    let lease;
    try {
      lease = await models.acquire(name, { waitForStartup: true });
    } catch (e) {
      if (e instanceof HearthError && e.code === 'not_found') throw new FieldError('model', e.message, 'not_found');
      throw e;
    }
    try {
      rec.model = lease.provider.card.id;
      return await use(lease.provider);
    } finally {
      lease.release();
    }
  };

  /** A chat body through /v1/chat/completions' converter, generated and collected: the first choice. */
  const chat = (body: Record<string, unknown>, cap: Capability, rec: ToolCallRecord, signal: AbortSignal | undefined) =>
    withModel(body.model as string, rec, async (provider) => {
      const native = chatRequestFromOpenAI(body);
      requireCapability(provider, 'chat');
      if (cap !== 'chat') requireCapability(provider, cap);
      const run = await provider.generate(native, signal).catch((e: unknown) => {
        const origin = (e as { origin?: { provider: string; model: string } }).origin;
        if (origin) [rec.provider, rec.upstreamModel] = [origin.provider, origin.model];
        throw e;
      });
      if (run.origin) [rec.provider, rec.upstreamModel] = [run.origin.provider, run.origin.model];
      const results = await run.collect();
      const r = results[0]!;
      rec.results = results;
      rec.promptTokens = r.usage.promptTokens;
      rec.completionTokens = r.usage.completionTokens;
      if (r.usage.estimated) rec.tokensEstimated = true;
      const structured = {
        model: provider.card.id, text: r.text, finish_reason: r.reason,
        usage: { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens },
        ...(r.reasoning ? { reasoning: r.reasoning } : {}),
      };
      return success(structured, r.text);
    });

  const sampling = (a: { max_tokens?: number; temperature?: number }) => ({
    ...(a.max_tokens !== undefined ? { max_tokens: a.max_tokens } : {}),
    ...(a.temperature !== undefined ? { temperature: a.temperature } : {}),
  });

  server.registerTool('generate', {
    title: 'Generate text',
    description: 'Generate a reply with one of the served models (a local model, an alias, or provider/model through the gateway). ' +
      'Give either "prompt" (one user message) or "messages" (a chat: system, user and assistant turns).',
    inputSchema: {
      model: z.string().min(1).optional().describe('a name from list_models (default: the loaded chat model, or the server\'s only one)'),
      prompt: z.string().min(1).optional().describe('the user message, when there is no chat history'),
      messages: z.array(MESSAGE).min(1).optional().describe('the conversation so far, oldest first'),
      stop: z.array(z.string().min(1)).max(4).optional().describe('strings that end the reply'),
      ...SAMPLING,
    },
    outputSchema: GENERATED,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (args, extra) => run('generate', async (rec, signal) => {
    if ((args.prompt === undefined) === (args.messages === undefined)) {
      throw new FieldError(args.prompt === undefined ? 'prompt' : 'messages', 'give either "prompt" or "messages", not both and not neither');
    }
    const messages = args.messages ?? [{ role: 'user', content: args.prompt! }];
    return chat({ model: pick(args.model, 'chat'), messages, ...sampling(args), ...(args.stop ? { stop: args.stop } : {}) }, 'chat', rec, signal);
  })(extra));

  server.registerTool('analyze_image', {
    title: 'Analyse an image',
    description: 'Ask a vision model about an image (PNG, JPEG, WebP, GIF…), given as base64 bytes or a data: URL. ' +
      'Needs a model served with its vision encoder (hearth serve MODEL --mmproj FILE).',
    inputSchema: {
      image: z.string().min(1).describe('the image: base64 bytes, or data:image/png;base64,...'),
      prompt: z.string().min(1).optional().describe('what to ask about it (default: "Describe this image.")'),
      model: z.string().min(1).optional().describe('a vision model (default: the loaded one)'),
      ...SAMPLING,
    },
    outputSchema: GENERATED,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (args, extra) => run('analyze_image', async (rec, signal) => {
    const image = args.image.trim();
    if (/^https?:\/\//i.test(image)) throw new FieldError('image', 'image must be base64 bytes or a data: URL; this tool does not fetch URLs');
    const url = image.startsWith('data:') ? image : `data:application/octet-stream;base64,${image}`;
    // the image, then the question about it
    const content = [{ type: 'image_url', image_url: { url } }, { type: 'text', text: args.prompt ?? 'Describe this image.' }];
    return chat({ model: pick(args.model, 'vision'), messages: [{ role: 'user', content }], ...sampling(args) }, 'vision', rec, signal);
  })(extra));

  server.registerTool('embed', {
    title: 'Embed text',
    description: 'Embedding vectors of one or more texts with an embedding model (as /v1/embeddings).',
    inputSchema: {
      input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(256)]).describe('a text, or a list of texts'),
      model: z.string().min(1).optional().describe('an embedding model from list_models (default: the loaded one, or the server\'s only one)'),
      dimensions: z.number().int().min(1).optional().describe('shorten each vector to this many components, normalised again'),
    },
    outputSchema: { model: z.string(), embeddings: z.array(z.array(z.number())), usage: z.object({ prompt_tokens: z.number() }) },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (args, extra) => run('embed', async (rec, signal) => {
    const req = embeddingsRequestFromOpenAI({ model: pick(args.model, 'embeddings'), input: args.input, ...(args.dimensions ? { dimensions: args.dimensions } : {}) });
    return withModel(req.model, rec, async (provider) => {
      requireCapability(provider, 'embeddings');
      checkDimensions(req.dimensions, provider.card.nEmbd);
      const { vectors, tokens } = await provider.embed(req.inputs, { truncate: false }, signal);
      rec.promptTokens = tokens;
      const embeddings = shortenEmbeddings(vectors, req.dimensions).map((v) => Array.from(v));
      const structured = { model: provider.card.id, embeddings, usage: { prompt_tokens: tokens } };
      return success(structured, JSON.stringify(structured));
    });
  })(extra));

  server.registerTool('knowledge_search', {
    title: 'Search the knowledge base',
    description: 'The passages of a vector store (files ingested through /v1/vector_stores or hearth kb) that best match a query: ' +
      'hybrid keyword (BM25) and vector search by default.',
    inputSchema: {
      query: z.string().min(1).describe('what to look for'),
      vector_store: z.string().min(1).optional().describe('the vector store\'s id or name (default: the only one)'),
      max_results: z.number().int().min(1).max(50).optional().describe('most passages (default 10)'),
      mode: z.enum(['hybrid', 'keyword', 'vector']).optional().describe('hybrid (default), keyword only or vector only'),
    },
    outputSchema: {
      vector_store_id: z.string(), query: z.string(),
      results: z.array(z.object({ file_id: z.string(), filename: z.string(), score: z.number(), text: z.string(), attributes: z.record(z.string(), z.unknown()) })),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (args, extra) => run('knowledge_search', async (rec) => {
    const kb = deps.knowledge;
    if (!kb) throw new HearthError('unavailable', 'this server has no knowledge base (its database did not open)');
    const stores = kb.stores();
    const store = args.vector_store === undefined
      ? (stores.length === 1 ? stores[0] : undefined)
      : kb.findStore(args.vector_store);
    if (!store) {
      const names = stores.map((s) => `"${s.name}" (${s.id})`).join(', ');
      throw new FieldError('vector_store', args.vector_store === undefined
        ? `name a vector store in "vector_store": there are ${names || 'none'}`
        : `no vector store "${args.vector_store}": there are ${names || 'none (create one with POST /v1/vector_stores or hearth kb create)'}`, 'not_found');
    }
    rec.model = store.model;
    const hits = await kb.search(store.id, { query: args.query, maxResults: args.max_results, mode: args.mode });
    const results = hits.map((h) => ({ file_id: h.fileId, filename: h.filename, score: h.score, text: h.text, attributes: h.attributes }));
    const text = results.length === 0 ? `No passages of "${store.name}" match.`
      : results.map((r, i) => `[${i + 1}] ${r.filename} (score ${r.score.toFixed(4)})\n${r.text}`).join('\n\n');
    return success({ vector_store_id: store.id, query: args.query, results }, text);
  })(extra));

  server.registerTool('list_models', {
    title: 'List models',
    description: 'The models this server serves: local files and library names, gateway aliases and upstream provider/model names, ' +
      'with what each can do and whether it is loaded.',
    inputSchema: {},
    outputSchema: {
      models: z.array(z.object({ id: z.string(), owned_by: z.string(), capabilities: z.array(z.string()), loaded: z.boolean() })),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, (_args, extra) => run('list_models', async () => {
    await models.source.refresh?.();
    const loaded = new Map(models.list().map((m) => [m.name, m]));
    const list = models.source.list().map((m) => {
      const l = loaded.get(m.name);
      const entry = openaiModel(m);
      // a loaded model's card knows what its load added (vision from an mmproj)
      const capabilities = l?.card ? capabilityNames(l.card.capabilities) : entry.capabilities;
      return { id: entry.id, owned_by: entry.owned_by, capabilities, loaded: l?.state === 'ready' };
    });
    const text = list.map((m) => `${m.id}  ${m.capabilities.join(', ')}${m.loaded ? '  (loaded)' : ''}`).join('\n') || 'No models.';
    return success({ models: list }, text);
  })(extra));

  return server;
}
