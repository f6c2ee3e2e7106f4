// The gateway: model names that resolve to upstream providers. `PROVIDER/MODEL` goes straight to that provider;
// an alias of the config's `models:` tries its routes in order. Each route is retried (with backoff, honouring the
// upstream's Retry-After) while nothing has reached the client, then the next route is tried; a provider whose
// breaker is open is skipped. An upstream's error reaches the client with the upstream's status class and message,
// its secrets and addresses taken out. A `type: hearth` provider has several replicas, each with its own client and
// breaker: a request goes to the one its routing picks (replicas.ts) among those whose breaker lets it through, and
// a replica that fails is left for another at once before the provider's retries (with their backoff) begin.

import { HearthError, type ErrorCode } from '../../util/errors.ts';
import type { ChoiceResult, NativeRequest } from '../../api/native.ts';
import { openaiModelIds } from '../../api/openai/upstream.ts';
import { anthropicModelIds } from '../../api/anthropic/upstream.ts';
import { ollamaModelIds } from '../../api/ollama/upstream.ts';
import type { LibraryModel, ModelSource } from '../../library/types.ts';
import type { Generation, Provider } from '../types.ts';
import type { GatewayConfig, ProviderConfig, RouteTarget } from './config.ts';
import type { McpServerConfig } from './mcp-config.ts';
import { Breaker, type BreakerState } from './breaker.ts';
import { UpstreamClient, UpstreamFailure } from './transport.ts';
import { MODELS_PATH, providerHeaders, remoteProvider, startRemote } from './remote-provider.ts';
import { prefixCheckpoints, ReplicaRouter } from './replicas.ts';

/** What the server's metrics hear from the gateway, per provider. */
export interface GatewayObserver {
  request(provider: string, outcome: 'ok' | 'error', errorClass: string | undefined, seconds: number): void;
  firstToken(provider: string, seconds: number): void;
  tokens(provider: string, prompt: number, completion: number): void;
  breaker(provider: string, state: BreakerState): void;
}

export interface ProviderHealth {
  name: string;
  type: string;
  breaker: BreakerState;
  lastError?: string;
  /** Models its list gave, when it was fetched. */
  models?: number;
  /** Type hearth: each replica (in the config's order, without its address), and the routing. */
  routing?: string;
  replicas?: ReplicaHealth[];
}

export interface ReplicaHealth {
  breaker: BreakerState;
  /** Requests of this gateway it is answering now. */
  inflight: number;
  /** Requests it took since the start. */
  served: number;
  lastError?: string;
}

interface Replica {
  index: number;
  client: UpstreamClient;
  breaker: Breaker;
  inflight: number;
  served: number;
}

interface Upstream {
  config: ProviderConfig;
  /** One for every type but hearth. */
  replicas: Replica[];
  /** Type hearth with several replicas. */
  router?: ReplicaRouter;
  list?: { at: number; ids: string[] };
  listing?: Promise<void>;
}

/** The provider's breaker state: its one replica's, or for several the best of theirs. */
function providerState(u: Upstream): BreakerState {
  const states = u.replicas.map((r) => r.breaker.state);
  return states.includes('closed') ? 'closed' : states.includes('half_open') ? 'half_open' : 'open';
}

function providerError(u: Upstream): string | undefined {
  return u.replicas.length === 1 ? u.replicas[0]!.breaker.lastError
    : u.replicas.map((r) => (r.breaker.lastError ? `replica ${r.index + 1}: ${r.breaker.lastError}` : '')).filter(Boolean).join('; ') || undefined;
}

const MAX_RETRY_AFTER_MS = 10_000;

/** The upstream's own message from its error body: JSON `error.message`, `error` or `message`, else the text. */
function upstreamMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : typeof j.error?.message === 'string' ? j.error.message : typeof j.message === 'string' ? j.message : undefined;
    if (m) return m;
  } catch { /* not JSON */ }
  return body.trim() || 'no message';
}

/** `text` without the provider's secret, base URL, or any URL or network address. */
export function scrub(text: string, config: ProviderConfig): string {
  let out = text;
  if (config.apiKey) out = out.split(config.apiKey).join('[redacted]');
  for (const base of config.baseUrls) {
    out = out.split(base).join(`[provider ${config.name}]`);
    try {
      const host = new URL(base).host;
      if (host) out = out.split(host).join(`[provider ${config.name}]`);
    } catch { /* checked at load */ }
  }
  return out
    .replace(/\b(?:https?|wss?):\/\/[^\s"'<>)]+/gi, '[url]')
    .replace(/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '[address]')
    .replace(/\[[0-9a-f:]{2,}\](?::\d+)?/gi, '[address]')
    .replace(/\b(?:sk|hth|key|rk|pk)[-_][\w-]{8,}/g, '[redacted]')
    .replace(/\bBearer\s+\S+/gi, 'Bearer [redacted]')
    .slice(0, 500);
}

/** The client's error for an upstream failure: the upstream's status class, its scrubbed message. */
export function clientError(f: UpstreamFailure, config: ProviderConfig, model: string): HearthError {
  const who = `provider "${config.name}" (${model})`;
  if (f.kind === 'first_byte_timeout' || f.kind === 'idle_timeout') return new HearthError('timeout', `${who}: ${f.message}`);
  if (f.kind !== 'status') return new HearthError('upstream_error', `${who}: ${f.kind === 'connect' ? 'cannot connect' : 'the connection failed'}: ${scrub(f.message, config)}`);
  const s = f.status ?? 500;
  const msg = `${who} answered HTTP ${s}: ${scrub(upstreamMessage(f.message), config)}`;
  let code: ErrorCode = 'upstream_error';
  if (s === 429) code = 'rate_limited';
  else if (s === 404) code = 'not_found';
  else if (s === 413) code = 'request_too_large';
  else if (s === 401 || s === 403) code = 'forbidden';
  else if (s === 408 || s === 504) code = 'timeout';
  else if (s === 503) code = 'unavailable';
  else if (s >= 400 && s < 500) code = 'invalid_argument';
  return new HearthError(code, msg);
}

/** Failures worth the same route again after a wait. */
const retryable = (f: UpstreamFailure) => f.kind === 'connect' || f.kind === 'reset' || (f.kind === 'status' && [429, 502, 503].includes(f.status ?? 0));
/** Failures of the client's own request: no fallback, no breaker count. */
const clientFault = (f: UpstreamFailure) => f.kind === 'status' && (f.status ?? 0) >= 400 && (f.status ?? 0) < 500 && ![401, 403, 404, 408, 429].includes(f.status!);

const errorClass = (f: UpstreamFailure) => (f.kind === 'status' ? `${Math.floor((f.status ?? 500) / 100)}xx` : f.kind);

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const t = setTimeout(() => { signal?.removeEventListener('abort', stop); resolve(); }, ms);
  const stop = () => { clearTimeout(t); reject(new HearthError('aborted', 'the client went away')); };
  signal?.addEventListener('abort', stop, { once: true });
});

export class Gateway {
  readonly config: GatewayConfig;
  private readonly upstreams = new Map<string, Upstream>();
  private observer: GatewayObserver | undefined;
  private readonly now: () => number;

  constructor(config: GatewayConfig, o: { now?: () => number } = {}) {
    this.config = config;
    this.now = o.now ?? Date.now;
    for (const [name, c] of config.providers) {
      const u: Upstream = { config: c, replicas: [] };
      for (const [index, baseUrl] of c.baseUrls.entries()) {
        const breaker = new Breaker(c.breaker.failures, c.breaker.cooldownMs, this.now);
        breaker.onChange = () => this.observer?.breaker(name, providerState(u));
        u.replicas.push({ index, client: new UpstreamClient({ baseUrl, headers: providerHeaders(c), timeouts: c.timeouts }), breaker, inflight: 0, served: 0 });
      }
      if (u.replicas.length > 1) u.router = new ReplicaRouter(u.replicas.length, c.routing, c.maxImbalance);
      this.upstreams.set(name, u);
    }
  }

  /** `mcp_servers:` by label. */
  get mcpServers(): ReadonlyMap<string, McpServerConfig> {
    return this.config.mcpServers;
  }

  observe(o: GatewayObserver): void {
    this.observer = o;
    for (const [name, u] of this.upstreams) o.breaker(name, providerState(u));
  }

  /** The routes `name` stands for: `provider/model` when the prefix is a provider, or an alias's. */
  routes(name: string): { route: RouteTarget[]; alias: boolean } | undefined {
    const slash = name.indexOf('/');
    if (slash > 0 && this.upstreams.has(name.slice(0, slash)) && slash < name.length - 1) {
      return { route: [{ provider: name.slice(0, slash), model: name.slice(slash + 1) }], alias: false };
    }
    const alias = this.config.models.get(name) ?? this.config.models.get(name.replace(/:latest$/, ''));
    return alias ? { route: alias.route, alias: true } : undefined;
  }

  private entry(name: string, r: { route: RouteTarget[]; alias: boolean }): LibraryModel {
    const t = new Date(0);
    return { name, path: '', parts: [], size: 0, addedAt: t, modifiedAt: t, upstream: r };
  }

  /**
   * `local` with the gateway's names: `provider/model` first (straight to the provider), then the local models,
   * then the aliases; list() adds the aliases and each provider's models (as last fetched).
   */
  source(local: ModelSource): ModelSource {
    const list = (): LibraryModel[] => {
      const out = [...local.list()];
      for (const name of this.config.models.keys()) if (!local.get(name)) out.push(this.entry(name, this.routes(name)!));
      for (const [p, u] of this.upstreams) for (const id of u.list?.ids ?? []) out.push(this.entry(`${p}/${id}`, this.routes(`${p}/${id}`)!));
      return out;
    };
    return {
      base: local,
      list,
      get: (name) => {
        const r = this.routes(name);
        if (r && !r.alias) return this.entry(name, r);
        const m = local.get(name);
        if (m) return m;
        return r ? this.entry(name, r) : undefined;
      },
      refresh: () => this.refreshLists(),
    };
  }

  /** Fetches every provider list older than its TTL (a provider that does not answer keeps its last list). */
  async refreshLists(): Promise<void> {
    await Promise.all([...this.upstreams.values()].map((u) => {
      if (u.list && this.now() - u.list.at < u.config.modelsTtlMs) return undefined;
      u.listing ??= this.fetchList(u).finally(() => { u.listing = undefined; });
      return u.listing;
    }));
  }

  private async fetchList(u: Upstream): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), Math.min(5000, u.config.timeouts.firstByteMs));
    // a replica that may be asked (they serve the same models)
    const replica = u.replicas.find((r) => r.breaker.state === 'closed') ?? u.replicas[0]!;
    try {
      const r = await replica.client.request('GET', MODELS_PATH[u.config.dialect], undefined, ac.signal);
      const parts: Buffer[] = [];
      for await (const c of r.chunks) parts.push(c);
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown;
      const ids = u.config.dialect === 'openai' ? openaiModelIds(body) : u.config.dialect === 'anthropic' ? anthropicModelIds(body) : ollamaModelIds(body);
      u.list = { at: this.now(), ids };
    } catch (e) {
      u.list = { at: this.now(), ids: u.list?.ids ?? [] };
      replica.breaker.lastError = e instanceof UpstreamFailure ? clientError(e, u.config, 'models').message : scrub((e as Error).message, u.config);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The provider for a gateway entry of the source: a request runs its routes in order. */
  provider(model: LibraryModel): Provider {
    const routes = model.upstream?.route;
    if (!routes) throw new HearthError('internal', `model "${model.name}" has no upstream route`);
    return remoteProvider(model.name, (req, signal) => this.generate(model.name, routes, req, signal));
  }

  private async generate(name: string, routes: RouteTarget[], req: NativeRequest, signal?: AbortSignal): Promise<Generation> {
    const failures: string[] = [];
    let last: HearthError | undefined;
    for (const target of routes) {
      const u = this.upstreams.get(target.provider)!;
      const label = `${target.provider}/${target.model}`;
      const key = u.router?.routing === 'prefix' ? prefixCheckpoints(req, target.model) : [];
      // replicas that failed since the last backoff: the others are asked first, at once
      const failed = new Set<Replica>();
      let retry = 0;
      let lastFailure: UpstreamFailure | undefined;
      for (;;) {
        let ready = u.replicas.filter((r) => r.breaker.ready());
        if (ready.length === 0) {
          failures.push(`${label}: skipped, its circuit breaker is open`);
          last ??= new HearthError('unavailable', `provider "${target.provider}" is skipped for now: its last requests failed`);
          break;
        }
        if (ready.every((r) => failed.has(r))) {
          if (!lastFailure || !retryable(lastFailure) || retry === u.config.retries) break;
          const wait = lastFailure.retryAfterMs ?? 100 * 2 ** retry;
          if (wait > MAX_RETRY_AFTER_MS) break;
          await sleep(wait, signal);
          retry++;
          failed.clear();
          ready = u.replicas.filter((r) => r.breaker.ready());
          if (ready.length === 0) continue;
        }
        const pool = ready.filter((r) => !failed.has(r));
        const replica = u.router
          ? u.replicas[u.router.choose(pool.map((r) => r.index), u.replicas.map((r) => r.inflight), key)]!
          : pool[0]!;
        if (!replica.breaker.allow()) {
          failed.add(replica);
          continue;
        }
        if (signal?.aborted) throw new HearthError('aborted', 'the client went away');
        const t0 = performance.now();
        replica.inflight++;
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          replica.inflight--;
          signal?.removeEventListener('abort', settle);
        };
        signal?.addEventListener('abort', settle, { once: true });
        try {
          const gen = await startRemote(u.config, replica.client, req, target.model, signal, {
            firstToken: () => this.observer?.firstToken(target.provider, (performance.now() - t0) / 1000),
            end: (r: ChoiceResult) => {
              this.observer?.request(target.provider, 'ok', undefined, (performance.now() - t0) / 1000);
              this.observer?.tokens(target.provider, r.usage.promptTokens, r.usage.completionTokens);
            },
            fail: (f) => {
              replica.breaker.failure(f.message);
              this.observer?.request(target.provider, 'error', errorClass(f), (performance.now() - t0) / 1000);
              throw clientError(f, u.config, target.model);
            },
            settle,
          });
          replica.breaker.success();
          replica.served++;
          u.router?.record(replica.index, key);
          return Object.assign(gen, { origin: { provider: target.provider, model: target.model } });
        } catch (e) {
          settle();
          if (!(e instanceof UpstreamFailure)) throw e;
          if (signal?.aborted) throw new HearthError('aborted', 'the client went away');
          const err = clientError(e, u.config, target.model);
          if (clientFault(e)) throw err;
          replica.breaker.failure(err.message);
          this.observer?.request(target.provider, 'error', errorClass(e), (performance.now() - t0) / 1000);
          failures.push(`${label}${u.replicas.length > 1 ? ` (replica ${replica.index + 1})` : ''}: ${err.message}`);
          last = err;
          lastFailure = e;
          failed.add(replica);
        }
      }
    }
    const tried = routes.at(-1)!;
    const err = routes.length === 1 && last ? last : new HearthError(last?.code ?? 'upstream_error', `model "${name}": no route answered (${failures.join('; ')})`);
    // the audit names the last provider tried
    throw Object.assign(err, { origin: { provider: tried.provider, model: tried.model } });
  }

  health(): ProviderHealth[] {
    return [...this.upstreams.entries()].map(([name, u]) => ({
      name, type: u.config.type, breaker: providerState(u),
      ...(providerError(u) ? { lastError: providerError(u) } : {}),
      ...(u.list ? { models: u.list.ids.length } : {}),
      ...(u.router ? {
        routing: u.router.routing,
        replicas: u.replicas.map((r) => ({
          breaker: r.breaker.state, inflight: r.inflight, served: r.served,
          ...(r.breaker.lastError ? { lastError: r.breaker.lastError } : {}),
        })),
      } : {}),
    }));
  }

  close(): void {
    for (const u of this.upstreams.values()) for (const r of u.replicas) r.client.close();
  }
}
