// hearth mcp list: the MCP servers of the config file and their tools (each server started or connected to list
// them, stdio ones in the sandbox). Read-only: MCP servers are changed by editing the file, nothing else.

import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { McpHub, type McpServerListing } from '../../provider/mcp/hub.ts';
import { openSandbox } from '../../sandbox/open.ts';
import { loadGateway } from '../served-models.ts';

export const MCP_LIST_HELP = `Usage: hearth mcp list [--config FILE] [--json]

Lists the MCP servers of the config file (mcp_servers:, default ~/.hearth/config.yaml) and the tools of each.
`;

/** The listing as text, one block per server. */
export function formatMcpList(servers: readonly McpServerListing[]): string {
  if (!servers.length) return 'no MCP servers are configured (mcp_servers: in the config file)\n';
  return servers.map((s) => {
    const head = `${s.name}  ${s.transport}  ${s.target}${s.transport === 'stdio' ? `  network: ${s.network ? 'yes' : 'no'}  workspace: ${s.workspace}` : ''}`;
    const body = s.error !== undefined ? [`  error: ${s.error}`]
      : s.tools!.length ? s.tools!.map((t) => `  ${t.name}${t.description ? `  ${t.description.split('\n')[0]}` : ''}`) : ['  (no tools)'];
    return [head, ...body].join('\n');
  }).join('\n\n') + '\n';
}

/** `hearth mcp list ARGS`: prints the servers and their tools; exit status 1 when any server could not be listed. */
export async function mcpList(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values: v, positionals } = parse(argv, { config: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    out(MCP_LIST_HELP);
    return 0;
  }
  if (positionals.length) throw new HearthError('invalid_argument', `unexpected arguments: ${positionals.join(' ')}`);
  const gateway = loadGateway(v.config as string | undefined);
  const hub = new McpHub(gateway?.mcpServers ?? new Map(), () => openSandbox());
  try {
    const servers = await hub.list();
    out(v.json ? `${JSON.stringify(servers, null, 2)}\n` : formatMcpList(servers));
    return servers.some((s) => s.error !== undefined) ? 1 : 0;
  } finally {
    await hub.close();
    gateway?.close();
  }
}
