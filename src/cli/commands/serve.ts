// hearth serve [MODEL]: the HTTP server (OpenAI, Ollama and Anthropic APIs). Listens first, then loads the model,
// so /health answers 503 until it is ready. JSON log lines go to stdout.

import { parse, int, num, modelPath } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import type { BackendName } from '../../engine/types.ts';
import { createApp, DEFAULT_BODY_LIMIT, DEFAULT_PORT } from '../../server/app.ts';
import { ModelRegistry } from '../../provider/model-registry.ts';
import { localProvider } from '../../provider/local-provider.ts';
import { serveSecurity } from '../../server/middleware/serve-security.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth serve [MODEL] [options]

Serves MODEL over OpenAI- (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models),
Ollama- (/api/generate, /api/chat, /api/embed, /api/tags, /api/show, /api/ps, /api/version) and
Anthropic-compatible (/v1/messages, /v1/messages/count_tokens) APIs, reranking (/v1/rerank, /rerank: a
reranker model), plus /health and /metrics.

      --host H            address to listen on (default 127.0.0.1: this machine only). Beyond loopback API keys are
                          required, and the server refuses to start without one (hearth keys create)
      --auth              require API keys on loopback too
      --insecure-no-auth  serve beyond loopback WITHOUT authentication: anyone who can reach the port can use it
      --cors-origin O     allow browser requests from origin O (repeatable or comma-separated; "*" for any);
                          without it, requests carrying an Origin header are refused
      --metrics-open      /metrics without a key (it needs the "metrics" scope otherwise)
      --port P            port (default ${DEFAULT_PORT}; 0 = any free port)
      --parallel N        requests generated together, each in its own slot (default 4)
      --queue N           requests that may wait for a slot before new ones get 503 (default 64)
  -c, --ctx N             context size per slot (default: the model's, at most 4096)
      --alias NAME        the model name clients use (default: the file name without .gguf)
      --timeout S         fail a request still running after S seconds (default 600; 0 = no limit)
      --body-limit BYTES  largest request body (default ${DEFAULT_BODY_LIMIT})
      --log-level L       fatal, error, warn, info (default), debug, silent
      --tokenizer PATH    a tokenizer.json replacing the model's vocabulary (or HEARTH_TOKENIZER)
      --backend B         cpu (default: WebAssembly SIMD), ref or webgpu
      --threads N         kernel threads, one pool shared by every loaded model (default: one per core)
      --chunk-ms MS       while streams decode, a long prompt is evaluated in chunks of about MS milliseconds
                          (default 500), so a running stream waits at most one chunk for its next token
`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const command: Command = {
  summary: 'serve a model over OpenAI-, Ollama- and Anthropic-compatible HTTP APIs',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      host: { type: 'string' }, port: { type: 'string' }, parallel: { type: 'string' }, queue: { type: 'string' },
      ctx: { type: 'string', short: 'c' }, alias: { type: 'string' }, timeout: { type: 'string' },
      'body-limit': { type: 'string' }, 'log-level': { type: 'string' }, tokenizer: { type: 'string' },
      backend: { type: 'string' }, threads: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      auth: { type: 'boolean' }, 'insecure-no-auth': { type: 'boolean' }, 'cors-origin': { type: 'string', multiple: true },
      'metrics-open': { type: 'boolean' }, 'chunk-ms': { type: 'string' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    if (positionals.length > 1) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.slice(1).join(' ')}`);
    const level = v['log-level'] ?? 'info';
    if (!LEVELS.includes(level)) throw new HearthError('invalid_argument', `--log-level must be one of ${LEVELS.join(', ')}`);
    const port = int(v.port, '--port') ?? DEFAULT_PORT;
    if (port > 65535) throw new HearthError('invalid_argument', `--port: ${port} is not a port number`);
    const host = v.host ?? '127.0.0.1';
    const timeout = num(v.timeout, '--timeout', (n) => n >= 0) ?? 600;
    const path = modelPath(positionals[0]);
    const loadOptions = {
      nCtx: int(v.ctx, '--ctx', 1),
      backend: v.backend as BackendName | undefined,
      threads: int(v.threads, '--threads', 1),
      tokenizerPath: v.tokenizer ?? process.env.HEARTH_TOKENIZER,
    };

    const sec = serveSecurity({
      host, auth: v.auth, insecureNoAuth: v['insecure-no-auth'], metricsOpen: v['metrics-open'],
      corsOrigins: v['cors-origin']?.flatMap((o) => o.split(',').map((s) => s.trim()).filter(Boolean)),
    });

    const models = new ModelRegistry();
    const entry = models.add(localProvider({ path, load: loadOptions }, {
      alias: v.alias,
      scheduler: { parallel: int(v.parallel, '--parallel', 1) ?? 4, queueLimit: int(v.queue, '--queue') ?? 64, timeoutMs: timeout * 1000,
        chunkMs: num(v['chunk-ms'], '--chunk-ms', (n) => n > 0) },
    }));
    const app = createApp({
      models,
      logger: { level },
      bodyLimit: int(v['body-limit'], '--body-limit', 1024),
      security: sec.options,
    });
    app.addHook('onClose', async () => sec.close());
    try {
      await app.listen({ host, port });
    } catch (e) {
      await app.close();
      throw new HearthError('io_error', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
    }
    for (const warning of sec.warnings) app.log.warn({ host }, warning);
    app.log.info({ host, auth: sec.auth }, sec.auth ? 'API keys required' : 'no authentication');
    const served = await entry.start().catch(async (e: Error) => {
      app.log.fatal({ err: e.message }, 'model failed to load');
      await app.close();
      throw e;
    });
    const { card } = served;
    app.log.info({
      model: card.id, path: card.path, arch: card.arch, params: card.paramCount, ctx: card.nCtx,
      parallel: served.stats().slots, load_ms: Math.round(served.loadMs),
    }, 'model ready');

    return new Promise<number>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        app.close().then(() => resolve(0), () => resolve(1));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
