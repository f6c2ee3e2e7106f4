// A live hearth server on loopback (port 0) over stories260K, for the client-library tests, plus a copy of
// stories260K with a chat template and an independent reference: the engine's generate() on a fresh Context.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sharedPath } from '../shared.ts';
import { loadModel, type LoadedModel } from '../../src/engine/load.ts';
import { openGGUF, writeGGUF, GGUFMetadata } from '../../src/gguf/index.ts';
import { Context } from '../../src/engine/context.ts';
import { generate } from '../../src/engine/generate.ts';
import type { SamplingOptions } from '../../src/engine/sampler/index.ts';
import { createApp, type AppDeps } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { canonicalName, describeFile, nameOfFile } from '../../src/library/describe.ts';
import type { LibraryModel } from '../../src/library/types.ts';
import { localProvider, type LocalProvider, type LocalModelSource } from '../../src/provider/local-provider.ts';
import type { SchedulerOptions } from '../../src/engine/scheduler.ts';

export const STORIES = sharedPath('models', 'stories260K.gguf');

/** "role: content" lines after BOS, then "assistant:" — plain text pieces that stories260K's vocabulary has. */
export const TEST_TEMPLATE =
  "{{ bos_token }}{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

const templated = new Map<string, string>();

/** stories260K with tokenizer.chat_template set (TEST_TEMPLATE by default), written once per process and template into a temp dir. */
export function chatTemplateModelPath(template = TEST_TEMPLATE): string {
  const done = templated.get(template);
  if (done) return done;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-serve-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const src = openGGUF(STORIES);
  try {
    const metadata = GGUFMetadata.from(src.metadata).string('tokenizer.chat_template', template);
    const path = join(dir, 'stories-chat.gguf');
    writeGGUF(path, { metadata, tensors: src.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: () => src.readTensor(t) })) });
    templated.set(template, path);
    return path;
  } finally {
    src.close();
  }
}

/** FIM token ids written into fimModelPath's copy: ordinary stories260K tokens standing in for FIM_PRE, FIM_SUF, FIM_MID. */
export const FIM_IDS = { pre: 400, suf: 401, mid: 402 } as const;

let fimPath: string | undefined;

/** stories260K with tokenizer.ggml.fim_{pre,suf,mid}_token_id (FIM_IDS) and TEST_TEMPLATE, written once per process. */
export function fimModelPath(): string {
  if (fimPath) return fimPath;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fim-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const src = openGGUF(STORIES);
  try {
    const metadata = GGUFMetadata.from(src.metadata).string('tokenizer.chat_template', TEST_TEMPLATE)
      .u32('tokenizer.ggml.fim_pre_token_id', FIM_IDS.pre).u32('tokenizer.ggml.fim_suf_token_id', FIM_IDS.suf)
      .u32('tokenizer.ggml.fim_mid_token_id', FIM_IDS.mid);
    const path = join(dir, 'stories-fim.gguf');
    writeGGUF(path, { metadata, tensors: src.tensors.map((t) => ({ name: t.name, shape: t.shape, type: t.type, data: () => src.readTensor(t) })) });
    fimPath = path;
    return path;
  } finally {
    src.close();
  }
}

/** The served model's provider, once loaded. */
export interface ServedModel {
  ready(): LocalProvider;
  readonly state: 'loading' | 'ready' | 'failed' | 'unloaded';
}

export interface TestServer {
  app: FastifyInstance;
  host: ServedModel;
  models: ModelManager;
  /** The served file loaded again in this process, for references (the server's own copy is in its engine thread). */
  model: LoadedModel;
  base: string;
  close(): Promise<void>;
}

export interface ServerOptions extends Partial<SchedulerOptions> {
  path?: string;
  alias?: string;
  nCtx?: number;
  app?: Partial<AppDeps>;
  /** The address to listen on (default 127.0.0.1); `base` is on 127.0.0.1 whatever it is. */
  listenHost?: string;
  /** Wait for the model before resolving (default true). */
  ready?: boolean;
  /** A vision encoder (mmproj) loaded beside the model. */
  mmproj?: string;
  /** Where the server's model comes from (default: `path`, at once); a promise holds the server in loading. */
  source?: () => LocalModelSource | Promise<LocalModelSource>;
}

export async function startServer(o: ServerOptions = {}): Promise<TestServer> {
  const path = o.path ?? STORIES;
  const load = localProvider(o.source ?? { path, load: { nCtx: o.nCtx, ...(o.mmproj ? { mmproj: o.mmproj } : {}) } }, {
    alias: o.alias,
    scheduler: {
      parallel: o.parallel ?? 4, queueLimit: o.queueLimit ?? 16, timeoutMs: o.timeoutMs, prefillChunk: o.prefillChunk, chunkMs: o.chunkMs,
    },
  });
  // As `hearth serve MODEL`: the one model, loaded at start and kept.
  const name = o.alias ?? nameOfFile(path);
  const entry: LibraryModel = o.source
    ? { name, path, parts: [path], size: 0, addedAt: new Date(), modifiedAt: new Date() }
    : describeFile(path, { name });
  const models = new ModelManager({
    source: { list: () => [entry], get: (n) => (canonicalName(n) === canonicalName(name) ? entry : undefined) },
    load: () => load(),
    keepAliveMs: -1,
  });
  const app = createApp({ models, ...o.app });
  await app.listen({ host: o.listenHost ?? '127.0.0.1', port: 0 });
  const started = models.preload(name);
  if (o.ready ?? true) await started;
  else started.catch(() => {});
  const host: ServedModel = {
    ready: () => {
      const p = models.provider(name);
      if (!p) throw new Error(`${name} is not loaded`);
      return p as LocalProvider;
    },
    get state() {
      return models.list().find((m) => m.name === name)?.state ?? 'unloaded';
    },
  };
  const { port } = app.server.address() as AddressInfo;
  let model: LoadedModel | undefined;
  return {
    app, host, models, base: `http://127.0.0.1:${port}`,
    get model() {
      const { info } = host.ready();
      return (model ??= loadModel(info.path, info.options));
    },
    close: () => app.close(),
  };
}

/** What the engine itself generates for these prompt tokens on a fresh context. */
export async function reference(model: LoadedModel, prompt: number[], opts: { maxTokens?: number; sampling?: SamplingOptions; stop?: string[] }):
  Promise<{ text: string; tokens: number[]; reason: string }> {
  let text = '';
  const tokens: number[] = [];
  let reason = '';
  for await (const ev of generate(new Context(model), { prompt, maxTokens: opts.maxTokens, sampling: opts.sampling ?? { temperature: 0 }, stop: opts.stop })) {
    if (ev.type === 'token') tokens.push(ev.id);
    if (ev.type === 'done') reason = ev.reason;
    else text += ev.text;
  }
  return { text, tokens, reason };
}

/** Polls a server process's /health until it answers 200 (a model given at start is loaded), for up to 30 s. */
export async function untilHealthy(base: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not come up');
}

/**
 * Polls until cond() holds (the server's slots free up asynchronously after a client leaves, a model finishes
 * loading). The default only bounds a condition that never comes (a loaded 2-core machine can take seconds to load
 * a model); a test of how soon something happens passes its own bound.
 */
export async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
