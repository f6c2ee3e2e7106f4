// POST /api/pull (Ollama's request: {model | name, insecure?, stream?}): pulls a GGUF model into the models folder,
// streaming Ollama's NDJSON progress lines, or answering one {status:'success'} when stream is false. Only sources
// on allowed hosts are pulled (default the Hugging Face Hub and Ollama's registry); only the first URL is checked,
// so the CDNs they redirect downloads to need no listing. The models:write scope guards it (middleware/auth.ts).

import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pull, resolveSource, type PullResult } from '../../library/pull.ts';
import { registryBase } from '../../library/registry.ts';
import { HearthError } from '../../util/errors.ts';
import { ndjsonLine } from '../sse.ts';

export interface PullRouteOptions {
  /** Environment for HEARTH_MODELS, HF_ENDPOINT, HF_TOKEN and HEARTH_OLLAMA_REGISTRY (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Hosts sources may come from, besides the Hub (huggingface.co, hf.co and the host of HF_ENDPOINT) and Ollama's
   * registry (registry.ollama.ai, or the host of HEARTH_OLLAMA_REGISTRY).
   */
  allowedHosts?: readonly string[];
  /**
   * Called once a pull has succeeded, with its result and the source asked for (record it in the library with
   * `lib.record({ ...r, source: r.source ?? source })`); a throw fails the pull. In streaming mode it runs before the
   * final `success` line, so a client that sees success finds the model listed.
   */
  onPulled?: (r: PullResult, source: string) => void | Promise<void>;
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
  const registry = new URL(registryBase(env)).host;
  const allowed = new Set(['huggingface.co', 'hf.co', hub, registry, ...(o.allowedHosts ?? [])].map((h) => h.toLowerCase()));
  const pulled = async (r: PullResult, source: string) => { await o.onPulled?.(r, source); };

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
      await pulled(await pull(source, { env }), source);
      return { status: 'success' };
    }
    const out = new PassThrough();
    reply.header('content-type', 'application/x-ndjson');
    // The success line waits for onPulled, so it is written only once the model is recorded.
    pull(source, { env, onProgress: (p) => { if (p.status !== 'success') out.write(ndjsonLine(p)); } })
      .then(async (r) => { await pulled(r, source); out.write(ndjsonLine({ status: 'success' })); })
      .catch((e: unknown) => { out.write(ndjsonLine({ error: e instanceof Error ? e.message : String(e) })); })
      .finally(() => out.end());
    return reply.send(out);
  });
}
