// `mcp_servers:` in the gateway's configuration file: the MCP servers chat requests may name, by label. They come
// from this file only; no request adds or changes one. A stdio server is a command run in the sandbox (no network
// unless `network: true`, its `workspace` the only writable folder, `read_only` paths mounted for its code); a
// Streamable HTTP server is a `url` with `headers`. Values in `env` are `${ENV_VAR}` or `secret:NAME` only, as
// provider keys are; header values are `secret:NAME` or text with `${ENV_VAR}` in it (`Bearer ${TOKEN}`).

import { isAbsolute } from 'node:path';
import { isScalar, isSeq, type Node } from 'yaml';
import { apiKey, NAME_PATTERN, type Reader, type SecretSource } from './config.ts';

interface McpCommon {
  /** The label requests name it by (the Responses API's `server_label`). */
  name: string;
  /** Connecting and the MCP handshake, and a stdio server's start. */
  startTimeoutMs: number;
  /** One tool call. */
  callTimeoutMs: number;
  /** The most bytes of one tool result (its text, as the model will read it), and of one stdio message. */
  maxOutputBytes: number;
}

export interface McpStdioConfig extends McpCommon {
  transport: 'stdio';
  /** `node` (Hearth's Node binary), or an absolute path inside the sandbox (under /usr or a read_only path). */
  command: string;
  args: string[];
  /** Resolved secrets (never logged). */
  env: Record<string, string>;
  /** Absolute host folder mounted at /workspace. */
  workspace: string;
  /** Absolute host paths mounted read-only at the same place. */
  readOnly: string[];
  network: boolean;
  /** An idle server is stopped after this long, and started again when next used. */
  idleTimeoutMs: number;
}

export interface McpHttpConfig extends McpCommon {
  transport: 'http';
  url: string;
  /** Resolved header values (never logged). */
  headers: Record<string, string>;
}

export type McpServerConfig = McpStdioConfig | McpHttpConfig;

export const MCP_DEFAULTS = { startTimeoutMs: 15_000, callTimeoutMs: 30_000, idleTimeoutMs: 600_000, maxOutputBytes: 1 << 20 };
const COMMON_KEYS = ['start_timeout', 'call_timeout', 'max_output'];
const STDIO_KEYS = ['command', 'args', 'env', 'workspace', 'read_only', 'network', 'idle_timeout', ...COMMON_KEYS];
const HTTP_KEYS = ['url', 'headers', ...COMMON_KEYS];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function strings(r: Reader, node: Node, what: string): string[] {
  if (!isSeq(node)) r.fail(node, `${what} must be a list of strings`);
  return (node.items as Node[]).map((item) => {
    if (!isScalar(item) || (typeof item.value !== 'string' && typeof item.value !== 'number')) r.fail(item, `${what}: each item must be a string`);
    return String(item.value);
  });
}

function absolute(r: Reader, node: Node, what: string): string {
  const p = r.string(node, what);
  if (!isAbsolute(p)) r.fail(node, `${what} must be an absolute path; got "${p}"`);
  return p;
}

/** A header value: `secret:NAME`, or text whose `${VAR}` parts come from the environment; text without one is refused. */
function headerValue(r: Reader, node: Node, what: string, secrets: SecretSource): string {
  const text = r.string(node, what);
  if (/^secret:/.test(text) || /^\$\{[A-Za-z_]\w*\}$/.test(text)) return apiKey(r, node, what, secrets);
  if (!/\$\{[A-Za-z_]\w*\}/.test(text)) {
    r.fail(node, `${what}: a value written in the file is refused (it may be a secret); use \${ENV_VAR} in it, or secret:NAME`);
  }
  return text.replace(/\$\{([A-Za-z_]\w*)\}/g, (_, name: string) => {
    const v = secrets.env[name];
    if (!v) r.fail(node, `${what}: the environment variable ${name} is not set`);
    return v;
  });
}

function server(r: Reader, name: string, keyNode: Node, node: Node, secrets: SecretSource): McpServerConfig {
  const what = `mcp_servers.${name}`;
  if (!NAME_PATTERN.test(name)) r.fail(keyNode, `MCP server label "${name}" must be 1-64 letters, digits or _ . -`);
  const m = r.map(node, what);
  const keys = m.items.map((p) => (isScalar(p.key) ? p.key.value : undefined));
  const stdio = keys.includes('command');
  if (stdio === keys.includes('url')) r.fail(m, `${what}: give either command (a stdio server, run in the sandbox) or url (Streamable HTTP)`);
  const fields = new Map(r.entries(m, what, stdio ? STDIO_KEYS : HTTP_KEYS).map(([k, , v]) => [k, v]));
  const dur = (k: string, d: number) => fields.has(k) ? r.duration(fields.get(k)!, `${what}.${k}`) : d;
  const common: McpCommon = {
    name,
    startTimeoutMs: dur('start_timeout', MCP_DEFAULTS.startTimeoutMs),
    callTimeoutMs: dur('call_timeout', MCP_DEFAULTS.callTimeoutMs),
    maxOutputBytes: fields.has('max_output') ? r.int(fields.get('max_output')!, `${what}.max_output`, 1024) : MCP_DEFAULTS.maxOutputBytes,
  };
  if (!stdio) {
    const urlNode = fields.get('url')!;
    const text = r.string(urlNode, `${what}.url`);
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      r.fail(urlNode, `${what}.url: "${text}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') r.fail(urlNode, `${what}.url must be http:// or https://`);
    if (url.username || url.password) r.fail(urlNode, `${what}.url: credentials in the URL are refused; use headers`);
    const headers: Record<string, string> = {};
    const h = fields.get('headers');
    if (h) {
      for (const [k, kn, v] of r.entries(r.map(h, `${what}.headers`), `${what}.headers`)) {
        if (!HEADER_NAME.test(k)) r.fail(kn, `${what}.headers: "${k}" is not a header name`);
        headers[k] = headerValue(r, v, `${what}.headers.${k}`, secrets);
      }
    }
    return { ...common, transport: 'http', url: url.href, headers };
  }
  const command = r.string(fields.get('command')!, `${what}.command`);
  if (command !== 'node' && !isAbsolute(command)) {
    r.fail(fields.get('command'), `${what}.command must be node or an absolute path inside the sandbox (under /usr, or a read_only path); got "${command}"`);
  }
  const ws = fields.get('workspace');
  if (!ws) r.fail(m, `${what}.workspace is required: the folder the server may write (mounted at /workspace)`);
  const env: Record<string, string> = {};
  const e = fields.get('env');
  if (e) {
    for (const [k, kn, v] of r.entries(r.map(e, `${what}.env`), `${what}.env`)) {
      if (!ENV_NAME.test(k)) r.fail(kn, `${what}.env: "${k}" is not a variable name`);
      env[k] = apiKey(r, v, `${what}.env.${k}`, secrets);
    }
  }
  const net = fields.get('network');
  if (net && !(isScalar(net) && typeof net.value === 'boolean')) r.fail(net, `${what}.network must be true or false`);
  return {
    ...common,
    transport: 'stdio',
    command,
    args: fields.has('args') ? strings(r, fields.get('args')!, `${what}.args`) : [],
    env,
    workspace: absolute(r, ws, `${what}.workspace`),
    readOnly: fields.has('read_only') ? strings(r, fields.get('read_only')!, `${what}.read_only`).map((p, i) => {
      if (!isAbsolute(p)) r.fail((fields.get('read_only') as { items: Node[] }).items[i], `${what}.read_only must list absolute paths; got "${p}"`);
      return p;
    }) : [],
    network: net ? (net as { value: boolean }).value : false,
    idleTimeoutMs: dur('idle_timeout', MCP_DEFAULTS.idleTimeoutMs),
  };
}

/** `mcp_servers:`, a mapping of label → server. */
export function mcpServers(r: Reader, node: Node, secrets: SecretSource): Map<string, McpServerConfig> {
  const out = new Map<string, McpServerConfig>();
  for (const [name, key, value] of r.entries(r.map(node, 'mcp_servers'), 'mcp_servers')) out.set(name, server(r, name, key, value, secrets));
  return out;
}
