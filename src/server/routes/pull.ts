// POST /api/pull (Ollama's request: {model | name, insecure?, stream?}): pulls a GGUF model into the models folder,
// streaming Ollama's NDJSON progress lines, or answering one {status:'success'} when stream is false. Only sources
// on allowed hosts are pulled (default the Hugging Face Hub). The models:write scope guards it (middleware/auth.ts).

import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pull, resolveSource } from '../../library/pull.ts';
import { HearthError } from '../../util/errors.ts';
import { ndjsonLine } from '../sse.ts';

export interface PullRouteOptions {
  /** Environment for HEARTH_MODELS, HF_ENDPOINT and HF_TOKEN (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Hosts sources may come from, besides the Hub (huggingface.co, hf.co and the host of HF_ENDPOINT). */
  allowedHosts?: readonly string[];
}

function parseBody(body: unknown): { source: string; stream: boolean } {
  const b = (body ?? {}) as Record<string, unknown>;
  const source = b.model ?? b.name;
  if (typeof source !== 'string' || source === '') throw new HearthError('invalid_argument', 'model is required: a source such as hf.co/OWNER/REPO:Q4_K_M');
  if (b.stream !== undefined && typeof b.stream !== 'boolean') throw new HearthError('invalid_argument', 'stream must be a boolean');
  return { source, stream: b.stream !== false };
}

export function pullRoutes(app: FastifyInstance, o: PullRouteOptions = {}): void {
  const env = o.env ?? process.env;
  const hub = new URL(env.HF_ENDPOINT || 'https://huggingface.co').host;
  const allowed = new Set(['huggingface.co', 'hf.co', hub, ...(o.allowedHosts ?? [])].map((h) => h.toLowerCase()));

  const checkHost = async (source: string) => {
    const { url } = await resolveSource(source, env);
    const host = new URL(url).host.toLowerCase();
    if (!allowed.has(host)) {
      throw new HearthError('forbidden', `this server pulls models only from ${[...allowed].join(', ')}; ${host} is not allowed`);
    }
  };

  app.post('/api/pull', async (request, reply) => {
    const { source, stream } = parseBody(request.body);
    await checkHost(source);
    if (!stream) {
      await pull(source, { env });
      return { status: 'success' };
    }
    const out = new PassThrough();
    reply.header('content-type', 'application/x-ndjson');
    pull(source, { env, onProgress: (p) => out.write(ndjsonLine(p)) })
      .catch((e: unknown) => { out.write(ndjsonLine({ error: e instanceof Error ? e.message : String(e) })); })
      .finally(() => out.end());
    return reply.send(out);
  });
}
