// The gateway's configuration file (`hearth serve --config FILE`, default ~/.hearth/config.yaml when present):
// `providers:` (upstream APIs by name) and `models:` (aliases with a fallback route), checked when the server starts,
// with every error naming its line. Secrets never sit in the file: an api_key is `${ENV_VAR}` or `secret:NAME`
// (hearth secrets set NAME); anything else is refused. `mcp_servers:` declares MCP servers (mcp-config.ts), the only
// place they come from. A `type: hearth` provider is other Hearth servers (their OpenAI API, the
// server's root URL or its /v1): `base_url` may list several replicas, and `routing:` (prefix, round_robin,
// least_load) with `max_imbalance:` says how one is chosen per request (replicas.ts).

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type YAMLMap } from 'yaml';
import { HearthError } from '../../util/errors.ts';
import { ROUTING, type Routing } from './replicas.ts';
import { mcpServers, type McpServerConfig } from './mcp-config.ts';

export const PROVIDER_TYPES = ['openai', 'anthropic', 'ollama', 'lmstudio', 'openai-compatible', 'hearth'] as const;
export type ProviderType = typeof PROVIDER_TYPES[number];

/** The wire dialect each type speaks upstream. */
export type UpstreamDialect = 'openai' | 'anthropic' | 'ollama';
export const DIALECT: Record<ProviderType, UpstreamDialect> = {
  openai: 'openai', anthropic: 'anthropic', ollama: 'ollama', lmstudio: 'openai', 'openai-compatible': 'openai', hearth: 'openai',
};

const DEFAULT_BASE_URL: Partial<Record<ProviderType, string>> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  ollama: 'http://localhost:11434',
  lmstudio: 'http://localhost:1234/v1',
};

export interface ProviderTimeouts {
  /** TCP (and TLS) connection. */
  connectMs: number;
  /** From the request sent to the first byte of the answer's body. */
  firstByteMs: number;
  /** Between two chunks of a streamed answer. */
  idleMs: number;
}

export interface ProviderConfig {
  name: string;
  type: ProviderType;
  dialect: UpstreamDialect;
  /** Without a trailing slash (the first replica's, for type hearth). */
  baseUrl: string;
  /** Every replica's base URL (one for every type but hearth), without a trailing slash. */
  baseUrls: string[];
  /** How a replica is chosen per request (type hearth). */
  routing: Routing;
  /** The prefix replica is passed over when it has more than this many requests in flight beyond the least loaded. */
  maxImbalance: number;
  /** The resolved secret (never logged). */
  apiKey?: string;
  timeouts: ProviderTimeouts;
  /** Retries of one route before the next (429, 503, connection failures), each after a backoff or Retry-After. */
  retries: number;
  /** Consecutive failures that open the provider's circuit breaker, and how long it then stays open. */
  breaker: { failures: number; cooldownMs: number };
  /** How long the provider's own model list is cached. */
  modelsTtlMs: number;
}

export interface RouteTarget {
  provider: string;
  model: string;
}

export interface AliasConfig {
  name: string;
  route: RouteTarget[];
}

export interface GatewayConfig {
  /** The file it came from. */
  path?: string;
  providers: Map<string, ProviderConfig>;
  models: Map<string, AliasConfig>;
  /** `mcp_servers:` by label (empty when absent). */
  mcpServers: Map<string, McpServerConfig>;
}

/** Where secrets come from: the environment, and the encrypted store of `hearth secrets`. */
export interface SecretSource {
  env: NodeJS.ProcessEnv;
  secret(name: string): string | undefined;
}

export const NAME_PATTERN = /^[A-Za-z0-9][\w.-]{0,63}$/;
const DEFAULTS = { maxImbalance: 4, connectMs: 10_000, firstByteMs: 120_000, idleMs: 60_000, retries: 2, failures: 5, cooldownMs: 30_000, modelsTtlMs: 60_000 };
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const NAME = NAME_PATTERN;
const TOP_KEYS = ['providers', 'models', 'mcp_servers'];
const PROVIDER_KEYS = ['type', 'base_url', 'api_key', 'timeout', 'connect_timeout', 'first_byte_timeout', 'idle_timeout', 'retries',
  'breaker', 'models_ttl', 'routing', 'max_imbalance'];
/** Keys only a `type: hearth` provider (several replicas) takes. */
const HEARTH_KEYS = ['routing', 'max_imbalance'];

export class Reader {
  readonly lines = new LineCounter();
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  fail(node: Node | null | undefined, message: string): never {
    const at = node?.range ? this.lines.linePos(node.range[0]) : undefined;
    throw new HearthError('invalid_argument', `${this.file}${at ? `:${at.line}` : ''}: ${message}`);
  }

  map(node: unknown, what: string): YAMLMap<Node, Node> {
    if (!isMap(node)) this.fail(node as Node, `${what} must be a mapping`);
    return node as YAMLMap<Node, Node>;
  }

  entries(node: YAMLMap<Node, Node>, what: string, allowed?: readonly string[]): [string, Node, Node][] {
    return node.items.map((pair) => {
      const key = pair.key as Node;
      if (!isScalar(key) || typeof key.value !== 'string') this.fail(key, `${what}: keys must be names`);
      const k = key.value as string;
      if (allowed && !allowed.includes(k)) this.fail(key, `${what}: unknown key "${k}" (known: ${allowed.join(', ')})`);
      return [k, key, pair.value as Node];
    });
  }

  string(node: Node, what: string): string {
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') this.fail(node, `${what} must be a non-empty string`);
    return node.value as string;
  }

  duration(node: Node, what: string): number {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v === 'number' && v > 0) return Math.round(v * 1000);
    const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim()) : null;
    if (!m || !(Number(m[1]) > 0)) this.fail(node, `${what} must be a duration such as 500ms, 30s or 2m (or seconds)`);
    return Math.round(Number(m[1]) * UNIT_MS[m[2]]);
  }

  int(node: Node, what: string, min: number): number {
    const v = isScalar(node) ? node.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(node, `${what} must be an integer >= ${min}`);
    return v;
  }
}

/** A secret's value: `${ENV_VAR}` or `secret:NAME`; a literal is refused. */
export function apiKey(r: Reader, node: Node, what: string, secrets: SecretSource): string {
  const text = r.string(node, what);
  const env = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(text);
  if (env) {
    const v = secrets.env[env[1]];
    if (!v) r.fail(node, `${what}: the environment variable ${env[1]} is not set`);
    return v;
  }
  const stored = /^secret:(.+)$/.exec(text);
  if (stored) {
    const v = secrets.secret(stored[1]);
    if (v === undefined) r.fail(node, `${what}: there is no stored secret "${stored[1]}" (hearth secrets set ${stored[1]})`);
    return v;
  }
  r.fail(node, `${what}: a secret written in the file is refused; use \${ENV_VAR} or secret:NAME (hearth secrets set NAME)`);
}

function baseUrl(r: Reader, node: Node | undefined, type: ProviderType, what: string, owner: Node): string {
  if (type === 'hearth' && node === undefined) r.fail(owner, `${what} is required for type hearth: one replica's URL or a list of them`);
  const text = node === undefined ? DEFAULT_BASE_URL[type] : r.string(node, what);
  if (text === undefined) r.fail(owner, `${what} is required for type ${type}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    r.fail(node, `${what}: "${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') r.fail(node, `${what} must be http:// or https://`);
  if (url.username || url.password) r.fail(node, `${what}: credentials in the URL are refused; use api_key`);
  if (url.search || url.hash) r.fail(node, `${what} must have no query or fragment`);
  const href = url.href.replace(/\/+$/, '');
  // a hearth server is named by its root; its OpenAI API is under /v1
  return type === 'hearth' && !href.endsWith('/v1') ? `${href}/v1` : href;
}

/** `base_url`: one URL, or for type hearth a list of replicas (at least one, no two the same). */
function baseUrls(r: Reader, node: Node | undefined, type: ProviderType, what: string, owner: Node): string[] {
  if (!isSeq(node)) return [baseUrl(r, node, type, what, owner)];
  if (type !== 'hearth') r.fail(node, `${what}: a list of URLs is for type hearth (several replicas); type ${type} takes one URL`);
  if (node.items.length === 0) r.fail(node, `${what} must list at least one replica URL`);
  const out: string[] = [];
  for (const item of node.items as Node[]) {
    const url = baseUrl(r, item, type, what, owner);
    if (out.includes(url)) r.fail(item, `${what}: ${url} is listed twice`);
    out.push(url);
  }
  return out;
}

function provider(r: Reader, name: string, keyNode: Node, node: Node, secrets: SecretSource): ProviderConfig {
  if (!NAME.test(name)) r.fail(keyNode, `provider name "${name}" must be 1-64 letters, digits or _ . -`);
  const m = r.map(node, `providers.${name}`);
  const fields = new Map(r.entries(m, `providers.${name}`, PROVIDER_KEYS).map(([k, , v]) => [k, v]));
  const typeNode = fields.get('type');
  if (!typeNode) r.fail(m, `providers.${name}: type is required (${PROVIDER_TYPES.join(', ')})`);
  const type = r.string(typeNode, `providers.${name}.type`) as ProviderType;
  if (!PROVIDER_TYPES.includes(type)) r.fail(typeNode, `providers.${name}.type must be one of ${PROVIDER_TYPES.join(', ')}; got "${type}"`);
  const dur = (k: string) => fields.has(k) ? r.duration(fields.get(k)!, `providers.${name}.${k}`) : undefined;
  const timeout = dur('timeout');
  const timeouts: ProviderTimeouts = {
    connectMs: dur('connect_timeout') ?? Math.min(DEFAULTS.connectMs, timeout ?? Infinity),
    firstByteMs: dur('first_byte_timeout') ?? timeout ?? DEFAULTS.firstByteMs,
    idleMs: dur('idle_timeout') ?? timeout ?? DEFAULTS.idleMs,
  };
  const breaker = { failures: DEFAULTS.failures, cooldownMs: DEFAULTS.cooldownMs };
  const b = fields.get('breaker');
  if (b) {
    for (const [k, , v] of r.entries(r.map(b, `providers.${name}.breaker`), `providers.${name}.breaker`, ['failures', 'cooldown'])) {
      if (k === 'failures') breaker.failures = r.int(v, `providers.${name}.breaker.failures`, 1);
      else breaker.cooldownMs = r.duration(v, `providers.${name}.breaker.cooldown`);
    }
  }
  for (const k of HEARTH_KEYS) {
    if (fields.has(k) && type !== 'hearth') r.fail(fields.get(k), `providers.${name}.${k} is for type hearth (several replicas); type ${type} has one`);
  }
  let routing: Routing = 'prefix';
  const rn = fields.get('routing');
  if (rn) {
    routing = r.string(rn, `providers.${name}.routing`) as Routing;
    if (!ROUTING.includes(routing)) r.fail(rn, `providers.${name}.routing must be one of ${ROUTING.join(', ')}; got "${routing}"`);
  }
  const urls = baseUrls(r, fields.get('base_url'), type, `providers.${name}.base_url`, m);
  const key = fields.get('api_key');
  return {
    name, type, dialect: DIALECT[type],
    baseUrl: urls[0]!, baseUrls: urls, routing,
    maxImbalance: fields.has('max_imbalance') ? r.int(fields.get('max_imbalance')!, `providers.${name}.max_imbalance`, 0) : DEFAULTS.maxImbalance,
    ...(key ? { apiKey: apiKey(r, key, `providers.${name}.api_key`, secrets) } : {}),
    timeouts,
    retries: fields.has('retries') ? r.int(fields.get('retries')!, `providers.${name}.retries`, 0) : DEFAULTS.retries,
    breaker,
    modelsTtlMs: dur('models_ttl') ?? DEFAULTS.modelsTtlMs,
  };
}

function alias(r: Reader, name: string, keyNode: Node, node: Node, providers: Map<string, ProviderConfig>): AliasConfig {
  if (!/^[\w.:-]{1,128}$/.test(name)) r.fail(keyNode, `model alias "${name}" must be 1-128 letters, digits or . _ - : (no /)`);
  const m = r.map(node, `models.${name}`);
  const fields = new Map(r.entries(m, `models.${name}`, ['route']).map(([k, , v]) => [k, v]));
  const route = fields.get('route');
  if (!route || !isSeq(route) || route.items.length === 0) r.fail(route ?? m, `models.${name}.route must be a list of provider/model names`);
  return {
    name,
    route: (route.items as Node[]).map((item) => {
      const text = r.string(item, `models.${name}.route`);
      const slash = text.indexOf('/');
      const target = { provider: text.slice(0, slash), model: text.slice(slash + 1) };
      if (slash <= 0 || !target.model) r.fail(item, `models.${name}.route: "${text}" must be provider/model`);
      if (!providers.has(target.provider)) r.fail(item, `models.${name}.route: "${target.provider}" is not a provider of this file (${[...providers.keys()].join(', ') || 'none'})`);
      return target;
    }),
  };
}

/** The configuration in `text` (from `file`, for messages). */
export function parseGatewayConfig(text: string, file: string, secrets: SecretSource): GatewayConfig {
  const r = new Reader(file);
  // `${VAR}` is not plain YAML inside a flow mapping ({ api_key: ${KEY} }, as people write it): it is quoted first,
  // on its own line, so every line number stays the file's.
  const quoted = text.replace(/([:[,][ \t]*)\$\{([A-Za-z_]\w*)\}/g, '$1"\${$2}"');
  const doc = parseDocument(quoted, { lineCounter: r.lines, prettyErrors: false, uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem) {
    const at = r.lines.linePos(problem.pos[0]);
    throw new HearthError('invalid_argument', `${file}:${at.line}: ${problem.message.split('\n')[0]}`);
  }
  const config: GatewayConfig = { path: file, providers: new Map(), models: new Map(), mcpServers: new Map() };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return config;
  const top = new Map(r.entries(r.map(doc.contents, 'the file'), 'the file', TOP_KEYS).map(([k, , v]) => [k, v]));
  const p = top.get('providers');
  if (p && !(isScalar(p) && p.value === null)) {
    for (const [name, key, value] of r.entries(r.map(p, 'providers'), 'providers')) config.providers.set(name, provider(r, name, key, value, secrets));
  }
  const m = top.get('models');
  if (m && !(isScalar(m) && m.value === null)) {
    for (const [name, key, value] of r.entries(r.map(m, 'models'), 'models')) config.models.set(name, alias(r, name, key, value, config.providers));
  }
  const mcp = top.get('mcp_servers');
  if (mcp && !(isScalar(mcp) && mcp.value === null)) config.mcpServers = mcpServers(r, mcp, secrets);
  return config;
}

export function readGatewayConfig(path: string, secrets: SecretSource): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HearthError('io_error', `cannot read the config file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return parseGatewayConfig(text, path, secrets);
}
