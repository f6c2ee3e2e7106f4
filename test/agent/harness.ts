// The assistant under test: a hearth app as `hearth serve` builds it (keys on, the store in a temp database) with the
// agent service over stories260K (with a plain chat template, so tool calls use the generic JSON convention), the real
// bubblewrap sandbox and a temp workspace root. The model's calls are made real by the engine and the tool-call
// grammar; a script fixes each call's arguments (`const` in the grammar), so a model with no skill still makes the
// calls a test needs. Helpers read the task's SSE stream and the workspace's git log.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { localModelLoader } from '../../src/provider/local-provider.ts';
import { describeFile, fixedSource } from '../../src/library/describe.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import { openSandbox } from '../../src/sandbox/open.ts';
import { ApprovalBroker, type ApprovalChannel } from '../../src/agent/approvals.ts';
import { AgentService, type PolicySettings } from '../../src/agent/service.ts';
import { chatTemplateModelPath } from '../server/harness.ts';
import { parseGatewayConfig } from '../../src/provider/gateway/config.ts';
import { Gateway } from '../../src/provider/gateway/gateway.ts';
import { KnowledgeBase } from '../../src/knowledge/knowledge-base.ts';
import { modelEmbedders } from '../../src/server/routes/knowledge.ts';
import { syntheticFamilyPath } from '../fixtures/synthetic-families.ts';

export const MODEL = 'stories';
export const EMBEDDER = 'embed-tiny';

export interface AgentServer {
  app: FastifyInstance;
  base: string;
  store: Store;
  service: AgentService;
  models: ModelManager;
  admin: string;
  root: string;
  kb?: KnowledgeBase;
  close(): Promise<void>;
}

/** `gatewayYaml`: a gateway config whose routes are served beside the local model (a reviewer through a provider). */
/** `embedder`: a synthetic bert embedding model served as EMBEDDER, and a knowledge base over it (`kb`). */
export async function startAgentServer(o: { channels?: ApprovalChannel[]; policies?: PolicySettings; approvalTimeoutMs?: number; gatewayYaml?: string; embedder?: boolean } = {}): Promise<AgentServer> {
  const home = mkdtempSync(join(tmpdir(), 'hearth-agent-'));
  // the sandbox's unprivileged uid must be able to reach the workspaces below
  spawnSync('chmod', ['o+x', home]);
  const root = join(home, 'workspaces');
  const store = openStore(join(home, 'hearth.db'));
  const gateway = o.gatewayYaml === undefined ? undefined : new Gateway(parseGatewayConfig(o.gatewayYaml, 'config.yaml', { env: {}, secret: () => undefined }));
  const local = fixedSource([describeFile(chatTemplateModelPath(), { name: MODEL }),
    ...(o.embedder ? [describeFile(syntheticFamilyPath({ family: 'bert', nEmbd: 128, nHead: 4, nFF: 256, nLayer: 2, nCtxTrain: 512 }), { name: EMBEDDER })] : [])]);
  const loadLocal = localModelLoader({ scheduler: { parallel: 2, queueLimit: 16 } });
  const models = new ModelManager({
    source: gateway ? gateway.source(local) : local,
    load: (m) => (m.upstream && gateway ? Promise.resolve(gateway.provider(m)) : loadLocal(m)),
    keepAliveMs: -1,
  });
  const approvals = new ApprovalBroker(store.agent, { timeoutMs: o.approvalTimeoutMs ?? 60_000, settleAbandoned: true });
  for (const c of o.channels ?? []) approvals.addChannel(c);
  const kb = o.embedder ? new KnowledgeBase(store.database, { embedders: modelEmbedders(models) }) : undefined;
  const service = new AgentService({
    deps: { models, sandbox: () => openSandbox(), store: store.agent, approvals },
    workspaceRoot: root, ...(o.policies ? { policies: o.policies } : {}), ...(kb ? { kb } : {}),
  });
  const app = createApp({ models, security: { keys: store.keys, usage: store.usage }, agent: service, ui: false, ...(gateway ? { gateway } : {}), ...(kb ? { knowledge: kb } : {}) });
  if (kb) app.addHook('onClose', async () => kb.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  await models.preload(MODEL);
  const admin = store.keys.create({ name: 'admin', scopes: ['inference', 'models:read', 'admin'] }).secret;
  return {
    app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, store, service, models, admin, root, kb,
    async close() {
      await app.close();
      store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** POSTs a task and reads its event stream; `onEvent` sees each event as it arrives (to answer an approval). */
export async function runTaskOverHttp(base: string, key: string, body: Record<string, unknown>,
  onEvent: (e: SseEvent) => void | Promise<void> = () => undefined): Promise<SseEvent[]> {
  const res = await fetch(`${base}/api/v1/agent/tasks`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`POST /api/v1/agent/tasks: ${res.status} ${await res.text()}`);
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) throw new Error(`not an event stream: ${res.headers.get('content-type')}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!) as Record<string, unknown>;
      const e = { event, data };
      events.push(e);
      await onEvent(e);
    }
  }
  return events;
}

/** `git -C dir ARGS…`'s output (throws on failure). */
export function gitOut(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Each commit's trailers, newest first: [{ 'Hearth-Risk': …, … }]. */
export function trailersOf(dir: string): Record<string, string>[] {
  const out = gitOut(dir, 'log', '--format=%H%x00%(trailers:only,unfold)%x01');
  return out.split('\x01').map((s) => s.trim()).filter(Boolean).map((s) => {
    const [, t = ''] = s.split('\x00');
    return Object.fromEntries(t.trim().split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf(': ');
      return [l.slice(0, i), l.slice(i + 2)];
    }));
  });
}
