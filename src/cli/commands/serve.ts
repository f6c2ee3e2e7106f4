// hearth serve [MODEL ...]: the HTTP server (OpenAI, Ollama and Anthropic APIs). Listens first, then loads the
// models it was given, so /health answers 503 until they are ready; with no MODEL it serves the library, each model
// loaded by its first request and unloaded when idle (keep-alive), within a memory budget. JSON log lines go to stdout
// and to rotated files per component in the log folder. SIGTERM or SIGINT drains: no new connections, the requests
// in flight finish (up to --drain-timeout), the store and the logs are closed, and the process exits 0.

import { parse, int, num } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { createApp, DEFAULT_BODY_LIMIT, DEFAULT_PORT } from '../../server/app.ts';
import { DEFAULT_CONNECTION_LIMITS } from '../../server/connection-limits.ts';
import { formatBytes, parseMemorySize } from '../../provider/model-manager.ts';
import { serveSecurity } from '../../server/middleware/serve-security.ts';
import { withSharedState } from '../../server/middleware/shared-state.ts';
import { databaseUrl } from '../../store/repositories.ts';
import { KnowledgeBase } from '../../knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../server/routes/knowledge.ts';
import { openVectorIndex, vectorIndexName } from '../../knowledge/open-index.ts';
import { Library } from '../../library/library.ts';
import { MODEL_FLAGS, MODEL_FLAGS_HELP, servedModels } from '../served-models.ts';
import { McpHub } from '../../provider/mcp/hub.ts';
import type { Database } from '../../store/database.ts';
import type { ModelManager } from '../../provider/model-manager.ts';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { databasePath } from '../../store/database.ts';
import { parseDuration as durationMs } from '../../store/duration.ts';
import { AgentStore } from '../../store/agent.ts';
import { ApprovalBroker } from '../../agent/approvals.ts';
import { AgentService, readPolicySettings } from '../../agent/service.ts';
import { discordApprovals, discordOptionsFromEnv } from '../../agent/discord.ts';
import { openSandbox } from '../../sandbox/open.ts';
import type { Command } from '../main.ts';
import { createLogger, type ServerLogger } from '../../server/logs/logger.ts';
import type { FileTransportOptions } from '../../server/logs/file-transport.ts';
import { Drainer } from '../../server/drain.ts';
import { defaultLogDir } from '../../server/logs/files.ts';

const HELP = `Usage: hearth serve [MODEL ...] [options]

Serves models over OpenAI- (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models),
Ollama- (/api/generate, /api/chat, /api/embed, /api/tags, /api/show, /api/ps, /api/pull, /api/version) and
Anthropic-compatible (/v1/messages, /v1/messages/count_tokens) APIs, llama-server's native endpoints
(/completion, /infill, /tokenize, /detokenize, /apply-template, /embedding, /props, /slots), reranking
(/v1/rerank, /rerank: a reranker model), MCP's Streamable HTTP (/mcp: the tools of hearth mcp, behind the same
keys), plus /health and /metrics.

With no MODEL, serves the models library (HEARTH_MODELS, default ~/.hearth/models; hearth list): a request for a
model that is not loaded loads it, and a model idle for its keep-alive unloads. With MODEL arguments (files or
library names), serves those, loaded at start and kept loaded unless --keep-alive says otherwise.

      --host H            address to listen on (default 127.0.0.1: this machine only). Beyond loopback API keys are
                          required, and the server refuses to start without one (hearth keys create)
      --auth              require API keys on loopback too
      --insecure-no-auth  serve beyond loopback WITHOUT authentication: anyone who can reach the port can use it
      --database URL      keep API keys and the usage audit in PostgreSQL (postgres://user:pass@host/db), shared by
                          every replica behind a load balancer (default HEARTH_DATABASE_URL, else the SQLite file).
                          PostgreSQL unreachable: requests that need a key get 503 (authentication fails closed)
      --redis URL         keep rate-limit windows and concurrency counters in Redis (redis://host:6379), so limits
                          hold across replicas (default HEARTH_REDIS_URL). Redis unreachable: per-replica windows,
                          a warning and the hearth_rate_limit_fallback gauge, until it answers again
      --cors-origin O     also allow browser requests from origin O (repeatable or comma-separated; "*" for any,
                          "null" for Origin: null). Allowed by default: this machine's pages (http(s)://localhost,
                          *.localhost, 127.0.0.1, [::1], any port) and app://, file://, tauri://, vscode-webview://,
                          vscode-file://, chrome-extension://, moz-extension:// origins; other origins get 403.
                          "none": refuse every request that carries an Origin header
      --allowed-hosts H   a Host name accepted besides localhost, the loopback addresses and this machine's hostname
                          (repeatable or comma-separated; ".example.com" includes subdomains; "*": no check). Only a
                          server on a loopback address checks Host (against DNS rebinding); on others it is not
      --strict            unknown request fields are a 400 ("unrecognized field X"); by default they are ignored and
                          listed in the hearth-ignored-fields response header and the request's log line
      --metrics-open      /metrics without a key (it needs the "metrics" scope otherwise)
      --port P            port (default ${DEFAULT_PORT}; 0 = any free port)
      --pull-allow HOST   a host /api/pull may pull from besides huggingface.co and Ollama's registry (repeatable)
      --body-limit BYTES  largest request body (default ${DEFAULT_BODY_LIMIT})
      --header-timeout S  seconds a request's headers may take to arrive (default ${DEFAULT_CONNECTION_LIMITS.headersMs / 1000})
      --body-timeout S    seconds the whole request may take to arrive, headers and body (default ${DEFAULT_CONNECTION_LIMITS.bodyMs / 1000});
                          neither limits how long an answer takes to generate
      --idle-timeout S    seconds an idle keep-alive connection stays open (default ${DEFAULT_CONNECTION_LIMITS.idleMs / 1000})
      --max-connections-per-address N
                          connections one client address may hold at once (default ${DEFAULT_CONNECTION_LIMITS.perAddress}; 0 = no limit)
      --log-level L       fatal, error, warn, info (default), debug, silent
      --log-dir DIR       JSON log files, one per component: access (a line per request), server, engine, agent
                          (default ~/.hearth/logs; "none": stdout only). Lines go to stdout as well
      --log-max-size SIZE start a component's next file when its file reaches SIZE (such as 10MB, 512KiB; default 10MB)
      --log-rotate daily  also start a new file each day (files named COMPONENT.YYYY-MM-DD.N.log)
      --log-keep N        files kept per component besides the one being written (default 5); older ones are deleted
      --drain-timeout S   on SIGTERM or SIGINT, seconds the requests in flight may take to finish before the server
                          closes anyway (default 30). A second signal closes at once
      --embedding-model M the embedding model of a vector store created without "embedding_model"
                          (/v1/vector_stores; hearth kb create --model)
      --analyze-model M   the vision model of /api/v1/analyze and /api/v1/batch requests that name none (default:
                          the one MODEL, when there is one)
      --vector-index I    where a vector store's vectors are searched: exact (default: a scan of the store's vectors
                          in memory, exact top k), sqlite-vec (its exact KNN in the same SQLite file) or lancedb
                          (tables at --lancedb DIR, an approximate IVF index once a store holds 10,000 chunks);
                          the last two are optional packages (npm install sqlite-vec, @lancedb/lancedb)
      --lancedb DIR       LanceDB's directory (default: lancedb/ beside the database)
      --max-ingest-size SIZE
                          the largest file a vector store ingests, such as 64MiB (the default); a larger one
                          gets status "failed" with the reason, and the other files go on
      --summary-model M   the model that writes a conversation's summaries when its history outgrows the context
                          (default: the conversation's own model)
      --agent-workspaces DIR
                          run the assistant: POST /api/v1/agent/tasks works in DIR/<key id>/<workspace>, and
                          GET/POST /api/v1/approvals answer what waits for a person (DISCORD_BOT_TOKEN and
                          DISCORD_USER_ID add Discord); see hearth agent --help
      --reviewer M        the assistant's reviewer model when a task names none
      --agent-policy FILE workspace policies (default ~/.hearth/agent-policy.json)
      --approval-timeout D how long a person has to answer an approval (default 10m); no answer denies
${MODEL_FLAGS_HELP}`;

/**
 * The assistant (--agent-workspaces): tasks in workspaces under that folder, the policy file, one approval broker
 * for the HTTP API and, with DISCORD_BOT_TOKEN and DISCORD_USER_ID set, Discord (a refused login fails the start).
 */
async function assistant(database: Database | undefined, models: ModelManager, kb: KnowledgeBase | undefined,
  o: { workspaces: string; reviewer?: string; policyFile?: string; approvalTimeout?: string }): Promise<AgentService> {
  if (!database) throw new HearthError('invalid_argument', '--agent-workspaces needs the database (it records every action): check HEARTH_DB');
  const store = new AgentStore(database);
  const approvals = new ApprovalBroker(store, {
    timeoutMs: o.approvalTimeout === undefined ? undefined : durationMs(o.approvalTimeout, '--approval-timeout'), settleAbandoned: true,
  });
  const discord = discordOptionsFromEnv();
  if (discord) approvals.addChannel(await discordApprovals(discord));
  const policyFile = o.policyFile ?? join(process.env.HEARTH_HOME ?? join(homedir(), '.hearth'), 'agent-policy.json');
  return new AgentService({
    deps: { models, sandbox: () => openSandbox(), store, approvals },
    workspaceRoot: resolve(o.workspaces), ...(kb ? { kb } : {}), policies: readPolicySettings(policyFile), ...(o.reviewer ? { defaultReviewer: o.reviewer } : {}),
  });
}

/** A positive number of seconds, in whole milliseconds. */
const seconds = (text: string | undefined, flag: string) => {
  const s = num(text, flag, (n) => n > 0);
  return s === undefined ? undefined : Math.max(1, Math.round(s * 1000));
};
/** A repeatable, comma-separated flag's values. */
const list = (values: string[] | undefined): string[] | undefined => values?.flatMap((x) => x.split(',').map((s) => s.trim()).filter(Boolean));

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

interface LogFilesFlags {
  files?: FileTransportOptions;
  /** The folder is the default one: when it cannot be written, logs go to stdout only (with a warning). */
  fallback: boolean;
}

/** --log-dir, --log-max-size, --log-rotate, --log-keep. */
export function logFilesFlags(v: { 'log-dir'?: string; 'log-max-size'?: string; 'log-rotate'?: string; 'log-keep'?: string },
  env: NodeJS.ProcessEnv = process.env): LogFilesFlags {
  const maxBytes = parseMemorySize(v['log-max-size'] ?? '10MB', '--log-max-size');
  if (maxBytes < 1024) throw new HearthError('invalid_argument', `--log-max-size must be at least 1KiB; got "${v['log-max-size']}"`);
  const rotate = v['log-rotate'];
  if (rotate !== undefined && rotate !== 'daily' && rotate !== 'size') {
    throw new HearthError('invalid_argument', `--log-rotate must be "daily" (a new file each day as well as by size) or "size"; got "${rotate}"`);
  }
  const keep = int(v['log-keep'], '--log-keep', 0) ?? 5;
  if (v['log-dir'] === 'none') return { fallback: false };
  const dir = v['log-dir'] ?? defaultLogDir(env);
  return { files: { dir, maxBytes, keep, ...(rotate === 'daily' ? { daily: true } : {}) }, fallback: v['log-dir'] === undefined };
}

/** The logger; a default log folder that cannot be written leaves stdout only, an asked-for one is an error. */
function openLogs(level: string, o: LogFilesFlags): ServerLogger {
  try {
    return createLogger({ level, files: o.files });
  } catch (e) {
    if (!o.fallback) throw e;
    const logs = createLogger({ level });
    logs.logger.warn({ err: (e as Error).message }, 'logging to stdout only');
    delete o.files;
    return logs;
  }
}

export const command: Command = {
  summary: 'serve models over OpenAI-, Ollama- and Anthropic-compatible HTTP APIs',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      ...MODEL_FLAGS,
      host: { type: 'string' }, port: { type: 'string' }, 'body-limit': { type: 'string' }, 'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      auth: { type: 'boolean' }, 'insecure-no-auth': { type: 'boolean' }, 'cors-origin': { type: 'string', multiple: true },
      'metrics-open': { type: 'boolean' },
      'pull-allow': { type: 'string', multiple: true }, 'allowed-hosts': { type: 'string', multiple: true },
      strict: { type: 'boolean' }, 'summary-model': { type: 'string' }, 'analyze-model': { type: 'string' },
      'embedding-model': { type: 'string' }, 'vector-index': { type: 'string' }, lancedb: { type: 'string' }, 'max-ingest-size': { type: 'string' },
      'header-timeout': { type: 'string' }, 'body-timeout': { type: 'string' }, 'idle-timeout': { type: 'string' },
      'max-connections-per-address': { type: 'string' },
      'agent-workspaces': { type: 'string' }, reviewer: { type: 'string' }, 'agent-policy': { type: 'string' }, 'approval-timeout': { type: 'string' },
      database: { type: 'string' }, redis: { type: 'string' },
      'log-dir': { type: 'string' }, 'log-max-size': { type: 'string' }, 'log-rotate': { type: 'string' }, 'log-keep': { type: 'string' },
      'drain-timeout': { type: 'string' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const level = v['log-level'] ?? 'info';
    if (!LEVELS.includes(level)) throw new HearthError('invalid_argument', `--log-level must be one of ${LEVELS.join(', ')}`);
    const logFiles = logFilesFlags(v);
    const drainMs = Math.round((num(v['drain-timeout'], '--drain-timeout', (n) => n >= 0) ?? 30) * 1000);
    const port = int(v.port, '--port') ?? DEFAULT_PORT;
    if (port > 65535) throw new HearthError('invalid_argument', `--port: ${port} is not a port number`);
    const host = v.host ?? '127.0.0.1';
    const logs = openLogs(level, logFiles);
    const log = logs.logger;
    const served = servedModels(v, positionals);
    const { manager, gateway, library, keepAliveMs } = served;
    const source = manager.source;

    const database = databaseUrl(v.database);
    const redis = v.redis ?? (process.env.HEARTH_REDIS_URL || undefined);
    const localSec = serveSecurity({
      host, auth: v.auth, insecureNoAuth: v['insecure-no-auth'], metricsOpen: v['metrics-open'],
      corsOrigins: list(v['cors-origin']),
      allowedHosts: list(v['allowed-hosts']),
      sharedKeys: database !== undefined,
    });
    let shared;
    try {
      shared = database !== undefined || redis !== undefined ? await withSharedState(localSec, { database, redis, host }) : undefined;
    } catch (e) {
      localSec.close();
      throw e;
    }
    const sec = shared?.security ?? localSec;
    // Files and vector stores live in the database; ingests a stopped server left in progress go on after listen.
    const drainer = new Drainer();
    const indexName = vectorIndexName(v['vector-index']) ?? (v.lancedb !== undefined ? 'lancedb' : 'exact');
    let knowledge: KnowledgeBase | undefined;
    if (sec.database) {
      try {
        const index = await openVectorIndex(indexName, sec.database.db, { lancedbDir: v.lancedb ?? join(dirname(databasePath()), 'lancedb') });
        const maxIngestBytes = v['max-ingest-size'] === undefined ? undefined : parseMemorySize(v['max-ingest-size'], '--max-ingest-size');
        knowledge = new KnowledgeBase(sec.database, { embedders: modelEmbedders(manager), index, ...(maxIngestBytes !== undefined ? { maxIngestBytes } : {}) });
      } catch (e) {
        await sec.close();
        served.close();
        throw e;
      }
    }
    // MCP servers of the config file: stdio ones start in the sandbox when first used.
    const mcp = gateway?.mcpServers.size ? new McpHub(gateway.mcpServers, () => openSandbox()) : undefined;
    const agent = v['agent-workspaces'] === undefined ? undefined : await assistant(sec.database, manager, knowledge, {
      workspaces: v['agent-workspaces'], reviewer: v.reviewer, policyFile: v['agent-policy'], approvalTimeout: v['approval-timeout'],
    });
    const app = createApp({
      models: manager,
      ...(gateway ? { gateway } : {}),
      ...(mcp ? { mcp } : {}),
      logger: log,
      drainer,
      readiness: {
        ...(sec.database ? { store: () => { sec.database!.db.prepare('SELECT 1').get(); } } : {}),
        ...(served.args.length ? { model: source.list()[0]?.name } : {}),
      },
      bodyLimit: int(v['body-limit'], '--body-limit', 1024),
      connections: {
        headersMs: seconds(v['header-timeout'], '--header-timeout'), bodyMs: seconds(v['body-timeout'], '--body-timeout'),
        idleMs: seconds(v['idle-timeout'], '--idle-timeout'), perAddress: int(v['max-connections-per-address'], '--max-connections-per-address', 0),
      },
      strict: v.strict ?? false,
      security: sec.options,
      responses: sec.responses,
      knowledge,
      ...(agent ? { agent } : {}),
      knowledgeRoutes: { defaultEmbeddingModel: v['embedding-model'] },
      ...(sec.conversations ? { conversations: sec.conversations } : {}),
      ...(sec.batches ? { batches: sec.batches } : {}),
      ...(v['analyze-model'] !== undefined ? { analysis: { defaultModel: v['analyze-model'] } } : {}),
      ...(v['summary-model'] !== undefined ? { conversation: { summaryModel: v['summary-model'] } } : {}),
      pull: {
        allowedHosts: list(v['pull-allow']),
        // into the catalog, whether or not this server serves it, so that a pulled name is there for the next one
        onPulled: (r, pulledFrom) => {
          const into = library ?? Library.open();
          try { into.record({ ...r, source: r.source ?? pulledFrom }); } finally { if (into !== library) into.close(); }
        },
      },
    });
    shared?.setLog(app.log);
    app.addHook('onClose', async () => {
      await knowledge?.close();
      await sec.close();
      served.close();
    });
    const engineLog = logs.component('engine');
    const agentLog = logs.component('agent');
    manager.onLoad((p, m) => engineLog.info({
      model: m.name, path: m.path, arch: p.card.arch, params: p.card.paramCount, ctx: p.card.nCtx,
      parallel: p.stats?.().slots, load_ms: Math.round(p.loadMs ?? 0),
    }, 'model ready'));
    try {
      await app.listen({ host, port });
    } catch (e) {
      await app.close();
      await logs.close();
      throw new HearthError('io_error', `cannot listen on ${host}:${port}: ${(e as Error).message}`, { cause: e });
    }
    // From here a signal drains, a model loading at start included.
    let stopping = false;
    const exit = new Promise<number>((resolve) => {
      let now!: () => void;
      const second = new Promise<void>((r) => (now = r));
      const stop = (signal: NodeJS.Signals) => {
        stopping = true;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        // a second signal cuts the drain short
        process.once('SIGINT', () => now());
        process.once('SIGTERM', () => now());
        app.log.info({ signal, in_flight: drainer.inFlight, drain_timeout_ms: drainMs }, 'shutting down: draining');
        drainer.drain(app, drainMs, second).then(async (r) => {
          if (r.drained) app.log.info({ ms: r.ms }, 'drained; closed');
          else app.log.warn({ ms: r.ms, cut: r.cut }, `closed with ${plural(r.cut, 'request')} still running`);
          await logs.close();
          resolve(0);
        }, async (e: Error) => {
          app.log.error({ err: e.message }, 'shutdown failed');
          await logs.close();
          resolve(1);
        });
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    for (const warning of sec.warnings) app.log.warn({ host }, warning);
    const resumed = knowledge?.resume() ?? 0;
    if (resumed) agentLog.info({ files: resumed }, 'resuming ingests left in progress');
    if (knowledge) app.log.info({ vector_index: indexName, ...(indexName === 'lancedb' ? { dir: v.lancedb ?? join(dirname(databasePath()), 'lancedb') } : {}) }, 'knowledge base');
    if (logFiles.files) app.log.info({ dir: logFiles.files.dir, max_bytes: logFiles.files.maxBytes, daily: logFiles.files.daily ?? false, keep: logFiles.files.keep }, 'log files');
    app.log.info({ host, auth: sec.auth }, sec.auth ? 'API keys required' : 'no authentication');
    if (gateway) {
      app.log.info({ config: gateway.config.path, providers: [...gateway.config.providers.keys()], aliases: [...gateway.config.models.keys()] }, 'gateway');
    }
    app.log.info({
      models: library ? 'library' : source.list().map((m) => m.name), budget: formatBytes(manager.budget),
      keep_alive_ms: keepAliveMs, max_loaded: manager.maxLoaded || undefined,
    }, library ? `serving the library (${plural(source.list().length, 'model')}), each loaded on demand` : 'serving');
    for (const m of served.args.length ? source.list() : []) {
      const loaded = await manager.preload(m.name).then(() => true, async (e: Error) => {
        // the server was told to stop while the model loaded
        if (stopping) return false;
        engineLog.fatal({ model: m.name, err: e.message }, 'model failed to load');
        await app.close();
        await logs.close();
        throw e;
      });
      if (!loaded) break;
    }
    return exit;
  },
};
