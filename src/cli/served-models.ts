// The models a serving command serves, from its MODEL arguments and flags: hearth serve (HTTP) and hearth mcp
// (stdio) load them the same way. With MODEL arguments (files or library names), those; without, the library, each
// model loaded on demand. --config adds the gateway's upstream providers and aliases.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { int, num, modelPath, type Options } from './args.ts';
import { HearthError } from '../util/errors.ts';
import type { BackendName } from '../engine/types.ts';
import { DEFAULT_KEEP_ALIVE_MS, defaultMemoryBudget, localModelBytes, ModelManager, parseMemorySize } from '../provider/model-manager.ts';
import { checkAlias, localModelLoader } from '../provider/local-provider.ts';
import { createImageFetcher } from '../provider/image-fetch.ts';
import { Library } from '../library/library.ts';
import { describeFile, fixedSource } from '../library/describe.ts';
import type { LibraryModel, ModelSource } from '../library/types.ts';
import { parseDuration } from '../api/ollama/options.ts';
import { Database, databasePath } from '../store/database.ts';
import { SecretStore } from '../store/secrets.ts';
import { readGatewayConfig } from '../provider/gateway/config.ts';
import { Gateway } from '../provider/gateway/gateway.ts';

/** The flags of MODEL_FLAGS_HELP, for parse(). */
export const MODEL_FLAGS = {
  config: { type: 'string' },
  parallel: { type: 'string' }, queue: { type: 'string' }, ctx: { type: 'string', short: 'c' }, alias: { type: 'string' },
  timeout: { type: 'string' }, tokenizer: { type: 'string' }, mmproj: { type: 'string' }, 'allow-image-urls': { type: 'boolean' },
  backend: { type: 'string' }, threads: { type: 'string' }, 'chunk-ms': { type: 'string' },
  'keep-alive': { type: 'string' }, 'max-loaded': { type: 'string' }, 'max-memory': { type: 'string' },
} as const satisfies Options;

type FlagValues = { [K in keyof typeof MODEL_FLAGS]?: (typeof MODEL_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

export const MODEL_FLAGS_HELP = `      --config FILE       the gateway's configuration: upstream providers (OpenAI, Anthropic, Ollama, LM Studio, any
                          OpenAI-compatible server) and model aliases with fallback routes (default
                          ~/.hearth/config.yaml when it exists; see the README's "Gateway" section)
      --keep-alive D      how long a model stays loaded after its last request: a duration (5m, 1h30m, 90s) or
                          seconds; 0 unloads at once, negative keeps it (default 5m; with MODEL arguments: forever).
                          A request's keep_alive overrides it for its model
      --max-loaded N      most models loaded at once (default 0: as many as memory allows)
      --max-memory SIZE   memory the loaded models may take together, such as 8GiB (default: what the machine and
                          its cgroup leave free at start, less 10% or 512 MiB). Idle models are unloaded, least
                          recently used first, to make room; a model that cannot fit gets insufficient_memory
      --parallel N        requests generated together per model, each in its own slot (default 4)
      --queue N           requests that may wait for a slot before new ones get 503 (default 64)
  -c, --ctx N             context size per slot (default: the model's, at most 4096)
      --alias NAME        the name clients use for the one MODEL (default: the file name without .gguf)
      --timeout S         fail a request still running after S seconds (default 600; 0 = no limit)
      --tokenizer PATH    a tokenizer.json replacing the model's vocabulary (or HEARTH_TOKENIZER)
      --mmproj FILE       a vision encoder (mmproj GGUF) for the one MODEL: it then reads images (without it, a model
                          with NAME.mmproj.gguf beside it, as hearth pull writes it, loads that one)
      --allow-image-urls  fetch http(s) image URLs of requests (never loopback, private or link-local addresses)
      --backend B         cpu (default: WebAssembly SIMD), ref or webgpu
      --threads N         kernel threads, one pool shared by every loaded model (default: one per core)
      --chunk-ms MS       while streams decode, a long prompt is evaluated in chunks of about MS milliseconds
                          (default 500), so a running stream waits at most one chunk for its next token
`;

/** A MODEL argument: a library entry (with its preset) when the library has that name, else a file. */
function servedModel(arg: string, alias: string | undefined): LibraryModel {
  if (!existsSync(arg) && existsSync(databasePath())) {
    const lib = Library.open();
    try {
      const m = lib.get(arg);
      if (m) return alias ? { ...m, name: alias } : m;
    } finally {
      lib.close();
    }
  }
  return describeFile(modelPath(arg), alias ? { name: alias } : {});
}

/** The default config file: config.yaml in HEARTH_HOME (~/.hearth). */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'config.yaml');
}

/** The gateway of --config FILE (or the default file when it exists); secrets from the environment and hearth secrets. */
export function loadGateway(flag: string | undefined): Gateway | undefined {
  const path = flag ?? (existsSync(defaultConfigPath()) ? defaultConfigPath() : undefined);
  if (path === undefined) return undefined;
  let database: Database | undefined;
  try {
    const config = readGatewayConfig(path, {
      env: process.env,
      secret: (name) => {
        database ??= Database.open(databasePath());
        return new SecretStore(database).get(name);
      },
    });
    return new Gateway(config);
  } finally {
    database?.close();
  }
}

export function keepAliveFlag(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (Number.isNaN(ms)) throw new HearthError('invalid_argument', `--keep-alive must be a duration such as 5m, 1h or 90s, or a number of seconds; got "${text}"`);
  return ms < 0 ? -1 : Math.round(ms);
}

export interface ServedModels {
  manager: ModelManager;
  gateway?: Gateway;
  /** The library, when no MODEL was given (closed by close()). */
  library?: Library;
  /** The MODEL arguments (or HEARTH_MODEL), loaded at start by preloadArguments(). */
  args: string[];
  keepAliveMs: number;
  /** Loads each MODEL argument; rejects with the first that fails, after `failed` has seen it. */
  preloadArguments(failed?: (model: string, e: Error) => Promise<void> | void): Promise<void>;
  /** Closes the library (the manager and gateway are the caller's to close: createApp closes them with the app). */
  close(): void;
}

/** The model manager of MODEL arguments and MODEL_FLAGS values; flags are checked before anything is opened. */
export function servedModels(v: FlagValues, positionals: string[]): ServedModels {
  const timeout = num(v.timeout, '--timeout', (n) => n >= 0) ?? 600;
  if (v.alias !== undefined && positionals.length !== 1) throw new HearthError('invalid_argument', '--alias names the one MODEL; with several, serve each under its own name');
  checkAlias(v.alias);
  const fromEnv = positionals.length === 0 && process.env.HEARTH_MODEL ? [process.env.HEARTH_MODEL] : [];
  const args = positionals.length ? positionals : fromEnv;
  const parallel = int(v.parallel, '--parallel', 1) ?? 4;
  const loadOptions = {
    nCtx: int(v.ctx, '--ctx', 1),
    backend: v.backend as BackendName | undefined,
    threads: int(v.threads, '--threads', 1),
    tokenizerPath: v.tokenizer ?? process.env.HEARTH_TOKENIZER,
    mmproj: v.mmproj,
  };
  if (v.mmproj !== undefined && args.length !== 1) throw new HearthError('invalid_argument', '--mmproj goes with the one MODEL it was made for');
  const maxMemory = v['max-memory'] === undefined ? undefined : parseMemorySize(v['max-memory']);
  const keepAliveMs = keepAliveFlag(v['keep-alive'], args.length ? -1 : DEFAULT_KEEP_ALIVE_MS);
  const queueLimit = int(v.queue, '--queue') ?? 64;
  const chunkMs = num(v['chunk-ms'], '--chunk-ms', (n) => n > 0);
  const maxLoaded = int(v['max-loaded'], '--max-loaded', 0) ?? 0;

  const gateway = loadGateway(v.config);
  const library = args.length ? undefined : Library.open(process.env, { hashInBackground: true });
  const local: ModelSource = library ?? fixedSource(args.map((a) => servedModel(a, v.alias)));
  const source = gateway ? gateway.source(local) : local;
  const loadLocal = localModelLoader({
    load: loadOptions,
    fetchImage: v['allow-image-urls'] ? createImageFetcher() : undefined,
    scheduler: { parallel, queueLimit, timeoutMs: timeout * 1000, chunkMs },
  });
  const manager = new ModelManager({
    source,
    load: (m) => (m.upstream && gateway ? Promise.resolve(gateway.provider(m)) : loadLocal(m)),
    estimate: (m) => (m.upstream ? 0 : localModelBytes(m.path, { nCtx: loadOptions.nCtx, backend: loadOptions.backend, threads: loadOptions.threads, parallel })),
    keepAliveMs,
    maxLoaded,
    maxMemory: maxMemory ?? defaultMemoryBudget(),
  });
  return {
    manager, ...(gateway ? { gateway } : {}), ...(library ? { library } : {}), args, keepAliveMs,
    preloadArguments: async (failed) => {
      for (const m of args.length ? source.list() : []) {
        await manager.preload(m.name).catch(async (e: Error) => {
          await failed?.(m.name, e);
          throw e;
        });
      }
    },
    close: () => library?.close(),
  };
}
