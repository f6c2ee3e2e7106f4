// One configured MCP server, through the official SDK's Client: started (a stdio server in the sandbox) or connected
// (Streamable HTTP) on first use within its start timeout, its tool list discovered once and kept until the server
// says `notifications/tools/list_changed`, each call bounded by its call timeout and its result by max_output. A
// stdio server that crashed or hung is killed and started again on the next use; an idle one is stopped.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HearthError } from '../../util/errors.ts';
import type { Sandbox } from '../../sandbox/types.ts';
import type { McpServerConfig } from '../gateway/mcp-config.ts';
import { SandboxStdioTransport } from './sandbox-transport.ts';
import type { McpTool, McpToolResult } from './types.ts';

const CLIENT_INFO = { name: 'hearth', version: '0.1.0' };

interface Live {
  client: Client;
  transport: Transport;
  closed: boolean;
}

export class McpConnection {
  readonly config: McpServerConfig;
  private readonly sandbox: (() => Promise<Sandbox>) | undefined;
  private live: Live | undefined;
  private starting: Promise<Live> | undefined;
  private toolCache: McpTool[] | undefined;
  private listing: Promise<McpTool[]> | undefined;
  private idle: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** Starts (and restarts) so far, for `hearth mcp list` and the tests. */
  starts = 0;
  /** Why the last run of the server ended, when it ended badly. */
  lastFailure: string | undefined;

  constructor(config: McpServerConfig, sandbox?: () => Promise<Sandbox>) {
    this.config = config;
    this.sandbox = sandbox;
  }

  private fail(message: string, cause?: unknown): HearthError {
    return new HearthError('tool_error', `MCP server "${this.config.name}": ${message}`, cause ? { cause } : undefined);
  }

  private async transport(): Promise<Transport> {
    const c = this.config;
    if (c.transport === 'http') {
      return new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: c.headers }, fetch: this.cappedFetch(c.maxOutputBytes + 64 * 1024) });
    }
    if (!this.sandbox) throw new HearthError('sandbox_unavailable', `MCP server "${c.name}" runs on stdio, which needs the sandbox, and this server has none`);
    const sandbox = await this.sandbox();
    return new SandboxStdioTransport(sandbox, {
      command: [c.command, ...c.args], workspace: c.workspace, env: c.env, readOnly: c.readOnly, network: c.network,
    }, c.maxOutputBytes + 64 * 1024);
  }

  /** Why the last HTTP answer was cut off (more than the cap), until the next call. */
  private overflow: string | undefined;
  /** Aborts the HTTP call in progress (its answer overflowed). */
  private stopCall: AbortController | undefined;

  /** fetch whose answers to a POST (one message's reply) stop with an error past `limit` bytes. */
  private cappedFetch(limit: number): FetchLike {
    return async (url, init) => {
      const res = await fetch(url, init);
      if (init?.method !== 'POST' || !res.body) return res;
      let bytes = 0;
      const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, ctl) => {
          bytes += chunk.byteLength;
          if (bytes > limit) {
            this.overflow = `it sent an answer of more than ${limit} bytes (max_output)`;
            ctl.error(new Error(this.overflow));
            this.stopCall?.abort();
          } else ctl.enqueue(chunk);
        },
      }));
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    };
  }

  private detail(live: Live | undefined): string {
    const t = live?.transport;
    if (!(t instanceof SandboxStdioTransport)) return '';
    const why = t.failure ? `: ${t.failure}` : t.ended ? ` (it ended with ${t.ended})` : '';
    const err = t.stderr.trim().split('\n').slice(-3).join(' | ');
    return `${why}${err ? ` (stderr: ${err.slice(-400)})` : ''}`;
  }

  private start(): Promise<Live> {
    if (this.live && !this.live.closed) return Promise.resolve(this.live);
    this.starting ??= (async () => {
      const transport = await this.transport();
      const client = new Client(CLIENT_INFO, { capabilities: {} });
      const live: Live = { client, transport, closed: false };
      client.onclose = () => {
        live.closed = true;
        if (this.live === live) {
          this.live = undefined;
          this.toolCache = undefined;
        }
      };
      client.onerror = () => { /* a bad line: the call it belonged to times out, a flood closes the transport */ };
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        if (this.live === live) this.toolCache = undefined;
      });
      this.starts++;
      const timer = AbortSignal.timeout(this.config.startTimeoutMs);
      try {
        await Promise.race([
          client.connect(transport, { timeout: this.config.startTimeoutMs }),
          new Promise((_, reject) => timer.addEventListener('abort', () => reject(new Error(`no answer within ${this.config.startTimeoutMs} ms`)))),
        ]);
      } catch (e) {
        const more = this.detail(live);
        await transport.close().catch(() => {});
        this.lastFailure = `${(e as Error).message}${more}`;
        throw this.fail(`could not start: ${this.lastFailure}`, e);
      }
      this.live = live;
      return live;
    })().finally(() => { this.starting = undefined; });
    return this.starting;
  }

  /** Stops the server (a stdio process is killed); the next use starts it again. */
  async stop(): Promise<void> {
    clearTimeout(this.idle);
    const live = this.live;
    this.live = undefined;
    this.toolCache = undefined;
    if (live) await live.client.close().catch(() => {});
  }

  private touch(): void {
    clearTimeout(this.idle);
    if (this.config.transport !== 'stdio' || this.inFlight > 0) return;
    this.idle = setTimeout(() => void this.stop(), this.config.idleTimeoutMs);
    this.idle.unref();
  }

  /** The server's tools (discovered once, again after list_changed or a restart). */
  async tools(signal?: AbortSignal): Promise<McpTool[]> {
    if (this.toolCache) return this.toolCache;
    this.listing ??= (async () => {
      this.inFlight++;
      try {
        const live = await this.start();
        const tools: McpTool[] = [];
        let cursor: string | undefined;
        do {
          const page = await live.client.listTools(cursor ? { cursor } : {}, { timeout: this.config.callTimeoutMs, signal });
          for (const t of page.tools) {
            tools.push({
              name: t.name, ...(t.description ? { description: t.description } : {}),
              inputSchema: t.inputSchema as Record<string, unknown>, ...(t.annotations ? { annotations: t.annotations as Record<string, unknown> } : {}),
            });
          }
          cursor = page.nextCursor;
        } while (cursor && tools.length < 1000);
        if (this.live === live) this.toolCache = tools;
        return tools;
      } catch (e) {
        if (e instanceof HearthError) throw e;
        throw this.fail(`listing its tools failed: ${(e as Error).message}${this.detail(this.live)}`, e);
      } finally {
        this.inFlight--;
        this.touch();
      }
    })().finally(() => { this.listing = undefined; });
    return this.listing;
  }

  /**
   * Calls one tool. The server's own tool errors (isError) come back as a result; a server that fails (crash, call
   * timeout, a result over max_output) is a `tool_error`, and a stdio server is then killed, to start afresh.
   */
  async call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<McpToolResult> {
    this.inFlight++;
    const live = await this.start().catch((e) => {
      this.inFlight--;
      throw e;
    });
    const t0 = performance.now();
    this.overflow = undefined;
    const stop = new AbortController();
    if (this.config.transport === 'http') this.stopCall = stop;
    try {
      let result: CallToolResult;
      try {
        result = await live.client.callTool({ name, arguments: args }, undefined, {
          timeout: this.config.callTimeoutMs, signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
        }) as CallToolResult;
      } catch (e) {
        if (signal?.aborted) throw new HearthError('aborted', 'the request was cancelled during an MCP tool call');
        const timedOut = /timed out|timeout/i.test((e as Error).message);
        const flood = live.transport instanceof SandboxStdioTransport ? live.transport.failure : this.overflow;
        const more = this.detail(live);
        if (this.config.transport === 'stdio') await this.stop();
        const why = flood ? `was stopped: ${flood}` : timedOut ? `did not answer within its call timeout (${this.config.callTimeoutMs} ms)`
          : live.closed || more ? `crashed or closed the connection${more}`
          : this.config.transport === 'http' ? `failed: the server could not be reached or broke the connection (${(e as Error).message})` : (e as Error).message;
        this.lastFailure = why;
        throw this.fail(`tool "${name}" ${why}`, e);
      }
      const text = resultText(result);
      const bytes = Buffer.byteLength(text);
      if (bytes > this.config.maxOutputBytes) {
        throw this.fail(`tool "${name}" returned ${bytes} bytes, more than its max_output (${this.config.maxOutputBytes})`);
      }
      return { text, isError: result.isError === true, durationMs: performance.now() - t0 };
    } finally {
      this.inFlight--;
      this.touch();
    }
  }
}

/** A tool result as the text the model reads: text parts in order, other parts named, structured content as JSON. */
export function resultText(result: CallToolResult): string {
  const parts: string[] = [];
  for (const c of result.content ?? []) {
    if (c.type === 'text') parts.push(c.text);
    else if (c.type === 'resource') parts.push('text' in c.resource ? String(c.resource.text) : `[resource ${c.resource.uri}]`);
    else if (c.type === 'resource_link') parts.push(`[resource ${c.uri}]`);
    else parts.push(`[${c.type} content]`);
  }
  if (!parts.length && result.structuredContent !== undefined) parts.push(JSON.stringify(result.structuredContent));
  return parts.join('\n');
}
