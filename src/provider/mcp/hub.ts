// Every MCP server of the configuration, by label: the one place requests reach them through. Built from the
// config file only; nothing in a request adds a server or changes one.

import { FieldError } from '../../api/validate.ts';
import type { Sandbox } from '../../sandbox/types.ts';
import type { McpServerConfig } from '../gateway/mcp-config.ts';
import { McpConnection } from './connection.ts';
import type { McpTool } from './types.ts';

export interface McpServerListing {
  name: string;
  transport: 'stdio' | 'http';
  /** The command line or the URL. */
  target: string;
  network?: boolean;
  workspace?: string;
  tools?: McpTool[];
  /** Why the tools could not be listed. */
  error?: string;
}

export class McpHub {
  private readonly connections = new Map<string, McpConnection>();

  /** `sandbox` opens the sandbox stdio servers run in (called on a stdio server's first start). */
  constructor(servers: ReadonlyMap<string, McpServerConfig>, sandbox?: () => Promise<Sandbox>) {
    for (const [name, config] of servers) this.connections.set(name, new McpConnection(config, sandbox));
  }

  get labels(): string[] {
    return [...this.connections.keys()];
  }

  /** The server a request names; an unknown label is a 400 that lists the configured ones (those `visible`). */
  server(label: string, param: string, visible: (label: string) => boolean = () => true): McpConnection {
    const c = this.connections.get(label);
    if (!c) {
      const known = this.labels.filter(visible);
      throw new FieldError(param,
        `no MCP server "${label}" is configured (${known.length ? `configured: ${known.join(', ')}` : 'the config file has no mcp_servers'}); servers are declared in the config file only`);
    }
    return c;
  }

  /** Every server with its tools (each started or connected to list them). */
  async list(signal?: AbortSignal): Promise<McpServerListing[]> {
    return Promise.all([...this.connections.values()].map(async (c): Promise<McpServerListing> => {
      const cfg = c.config;
      const base: McpServerListing = cfg.transport === 'stdio'
        ? { name: cfg.name, transport: 'stdio', target: [cfg.command, ...cfg.args].join(' '), network: cfg.network, workspace: cfg.workspace }
        : { name: cfg.name, transport: 'http', target: cfg.url };
      try {
        return { ...base, tools: await c.tools(signal) };
      } catch (e) {
        return { ...base, error: (e as Error).message };
      }
    }));
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.stop()));
  }
}
