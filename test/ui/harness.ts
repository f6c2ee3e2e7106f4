// The web UI under test: a hearth app as `hearth serve` builds it with no MODEL (the library over a temp models
// folder holding two copies of stories260K with a chat template, keys, usage, conversations in a temp database),
// the UI built into a temp folder, a loopback stand-in for a model host that sends a GGUF slowly (so a pull's
// progress bar moves), and Chromium from Debian driven by playwright-core.
//
// Chromium runs with --no-sandbox: the tests run as root in a container, where Chromium's sandbox cannot start.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApp } from '../../src/server/app.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { Library } from '../../src/library/library.ts';
import { localModelLoader } from '../../src/provider/local-provider.ts';
import { openStore, type Store } from '../../src/store/store.ts';
import type { Provider } from '../../src/provider/types.ts';
import type { AgentService } from '../../src/agent/service.ts';
import { chatTemplateModelPath, STORIES } from '../server/harness.ts';
import { REPO_ROOT } from '../shared.ts';

export const CHROMIUM = process.env.HEARTH_CHROMIUM ?? '/usr/bin/chromium';

let built: string | undefined;

/** The UI built once per process into a temp folder (the checkout's build/ui is left as it is). */
export async function builtUi(): Promise<string> {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ui-build-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const { buildUi } = await import(join(REPO_ROOT, 'scripts/build-ui.js')) as { buildUi: (o: { outDir: string; quiet: boolean }) => Promise<boolean> };
  if (!await buildUi({ outDir: join(dir, 'ui'), quiet: true })) throw new Error('esbuild is not installed: run npm install');
  built = join(dir, 'ui');
  return built;
}

export interface UiServer {
  app: FastifyInstance;
  base: string;
  store: Store;
  library: Library;
  /** The stand-in model host: `pullSource` is a GGUF it sends in slow chunks. */
  pullSource: string;
  close(): Promise<void>;
}

/** Each generated event waits this long, so a stream can be watched and stopped. */
export const EVENT_DELAY_MS = 40;

function slowed(p: Provider): Provider {
  return Object.assign(Object.create(p) as Provider, {
    async generate(...args: Parameters<Provider['generate']>) {
      const g = await p.generate(...args);
      async function* events() {
        for await (const ev of g.events) {
          await new Promise((r) => setTimeout(r, EVENT_DELAY_MS));
          yield ev;
        }
      }
      return { promptTokens: g.promptTokens, events: events(), collect: () => g.collect() };
    },
  });
}

export async function startUiServer(o: { auth?: boolean; routes?: (app: FastifyInstance) => void; preload?: boolean; agent?: (store: Store, models: ModelManager) => AgentService } = {}): Promise<UiServer> {
  const home = mkdtempSync(join(tmpdir(), 'hearth-ui-'));
  const models = join(home, 'models');
  mkdirSync(models);
  const chat = chatTemplateModelPath();
  copyFileSync(chat, join(models, 'stories.gguf'));
  copyFileSync(chat, join(models, 'tales.gguf'));
  const env = { HEARTH_HOME: home, HEARTH_MODELS: models };
  const library = Library.open(env);
  const store = openStore(join(home, 'hearth.db'));

  // the model host: any path answers stories260K, 32 KiB every 30 ms (about 1.1 s in all), with ranges
  const bytes = readFileSync(STORIES);
  const host: Server = createServer((req, res) => {
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const body = bytes.subarray(start);
    res.writeHead(range ? 206 : 200, {
      'content-length': body.length, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream',
      ...(range ? { 'content-range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {}),
    });
    if (req.method === 'HEAD') { res.end(); return; }
    let at = 0;
    const timer = setInterval(() => {
      if (res.destroyed) { clearInterval(timer); return; }
      const chunk = body.subarray(at, at + 32 * 1024);
      at += chunk.length;
      if (at >= body.length) { clearInterval(timer); res.end(chunk); } else res.write(chunk);
    }, 30);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
  const hostUrl = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;

  const load = localModelLoader({ scheduler: { parallel: 2, queueLimit: 16 } });
  const manager = new ModelManager({ source: library, load: async (m) => slowed(await load(m)), keepAliveMs: -1 });
  const app = createApp({
    models: manager,
    security: { keys: o.auth === false ? undefined : store.keys, usage: store.usage },
    responses: store.responses,
    conversations: store.conversations,
    pull: {
      env,
      allowedHosts: [new URL(hostUrl).host],
      onPulled: (r, source) => { library.record({ ...r, source: r.source ?? source }); },
    },
    ui: { dir: await builtUi() },
    ...(o.agent ? { agent: o.agent(store, manager) } : {}),
  });
  o.routes?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  // loaded before the tests, so that a busy machine's load time (kernels compiled, one token run) is not a reply's
  if (o.preload !== false) await Promise.all(['stories', 'tales'].map((m) => manager.preload(m)));
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    app, base, store, library, pullSource: `${hostUrl}/files/tiny-stories.gguf`,
    async close() {
      await app.close();
      host.close();
      host.closeAllConnections();
      library.close();
      store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run "npm run setup" (installs Debian's chromium) or set HEARTH_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** Signs in through the form (a keyed server) and waits for the navigation. */
export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(`${base}/ui/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
}

const AXE = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js');

/** axe-core's serious and critical violations on the page as it is now (axe is injected, not served by the UI). */
export async function axeViolations(page: Page): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  // evaluated through the DevTools protocol, which the page's CSP does not govern (an injected <script> it would refuse)
  await page.evaluate(readFileSync(AXE, 'utf8'));
  const result = await page.evaluate('axe.run(document, { resultTypes: ["violations"] })') as { violations: { id: string; impact: string; nodes: { target: string[] }[] }[] };
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}
