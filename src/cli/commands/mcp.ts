// hearth mcp [serve] [MODEL ...]: Hearth as an MCP server on stdio, for an MCP host (an editor, a desktop app) that
// starts it as a subprocess. It loads models as hearth serve does (cli/served-models.ts) and answers the tools of
// server/mcp-server/tools.ts. stdout is the protocol's alone: everything else that would print there (logs, a
// stray console.log) goes to stderr. The peer is the local user who started it, so every tool is open to it, as
// the CLI is; over HTTP, /mcp (hearth serve) applies the keys.
//
// hearth mcp list is the name of the command that lists the MCP servers of the config file's mcp_servers:.

import { Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { mcpList } from './mcp-list.ts';
import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { Database, databasePath } from '../../store/database.ts';
import { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../server/routes/knowledge.ts';
import { createMcpServer, type ToolCallRecord } from '../../server/mcp-server/tools.ts';
import { VERSION } from '../../server/app.ts';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, servedModels } from '../served-models.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth mcp [serve] [MODEL ...] [options]
       hearth mcp list

Serves Hearth's models and knowledge base to an MCP host over stdio (the host starts this command). Tools:
generate (chat with any served model), analyze_image (a vision model), embed (an embedding model),
knowledge_search (a vector store of the knowledge base, HEARTH_DB) and list_models. With no MODEL, serves the
models library, each model loaded on demand; with MODEL arguments (files or library names), those, loaded at start.
Logs go to stderr; stdout carries the protocol only. Over HTTP, hearth serve answers the same tools at /mcp.

"hearth mcp list" lists the MCP servers configured under mcp_servers: in the config file, and their tools.

      --log-level L       error, warn, info (default), debug, silent (on stderr)
${MODEL_FLAGS_HELP}`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type Level = (typeof LEVELS)[number];

/** Lines on stderr at or above `level`. */
function stderrLog(level: Level) {
  const rank = (l: Level) => LEVELS.indexOf(l);
  return (l: Level, message: string) => {
    if (level === 'silent' || rank(l) > rank(level)) return;
    process.stderr.write(`hearth mcp: ${l === 'info' ? '' : `${l}: `}${message}\n`);
  };
}

function callLine(rec: ToolCallRecord): string {
  const tokens = rec.promptTokens === undefined ? '' : ` ${rec.promptTokens}+${rec.completionTokens ?? 0} tokens`;
  return `${rec.tool}${rec.model ? ` ${rec.model}` : ''}${tokens}${rec.error ? `: ${rec.error.code}: ${rec.error.message}` : ''}`;
}

async function serve(argv: string[]): Promise<number> {
  const { values: v, positionals } = parse(argv, { ...MODEL_FLAGS, 'log-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const level = (v['log-level'] ?? 'info') as Level;
  if (!LEVELS.includes(level)) throw new HearthError('invalid_argument', `--log-level must be one of ${LEVELS.join(', ')}`);
  const log = stderrLog(level);

  // From here stdout is the protocol's: whatever else writes to process.stdout lands on stderr.
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const protocolOut = new Writable({ write: (chunk, _enc, done) => void stdoutWrite(chunk, (e) => done(e ?? null)) });
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;

  const served = servedModels(v, positionals);
  const { manager } = served;
  manager.onLoad((p, m) => log(m.upstream ? 'debug' : 'info',
    m.upstream ? `route ready: ${m.name} (${m.upstream.route.map((r) => `${r.provider}/${r.model}`).join(', ')})`
      : `model ready: ${m.name} (${p.card.arch}, ctx ${p.card.nCtx}, ${Math.round(p.loadMs ?? 0)} ms)`));
  let database: Database | undefined;
  try {
    database = Database.open(databasePath());
  } catch (e) {
    log('warn', `knowledge_search is off: ${(e as Error).message}`);
  }
  const knowledge = database && new KnowledgeBase(database, { embedders: modelEmbedders(manager) });
  const server = createMcpServer({ models: manager, knowledge, version: VERSION }, {
    authorize: () => {},
    checkModel: () => {},
    record: (rec) => log(rec.error ? 'warn' : 'debug', callLine(rec)),
  });

  let closing: Promise<void> | undefined;
  const close = () => (closing ??= (async () => {
    await server.close().catch(() => {});
    await manager.close();
    served.gateway?.close();
    await knowledge?.close();
    database?.close();
    served.close();
  })());
  const ended = new Promise<number>((resolve) => {
    const stop = (code: number) => () => void close().then(() => resolve(code), () => resolve(1));
    process.stdin.once('end', stop(0));
    process.once('SIGINT', stop(0));
    process.once('SIGTERM', stop(0));
    // a failed MODEL argument ends the server, as it does hearth serve
    served.preloadArguments((model, e) => void (closing || log('fatal', `${model} failed to load: ${e.message}`))).catch(() => closing || stop(1)());
  });
  // The host may initialize and list tools while the models load.
  await server.connect(new StdioServerTransport(process.stdin, protocolOut));
  log('info', `serving ${served.library ? 'the library' : manager.source.list().map((m) => m.name).join(', ')} over stdio`);
  return ended;
}

export const command: Command = {
  summary: 'serve Hearth\'s models and knowledge base to MCP hosts over stdio',
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'list') return mcpList(rest);
    return serve(sub === 'serve' ? rest : argv);
  },
};
