// The web UI's weight and speed on loopback: the bytes of the first page load (HTML, JS, CSS; gzipped as the
// server sends them) and the time to interactive in Chromium (Debian's, through playwright-core): from the start
// of navigation to the chat page showing the model list with its composer ready, on a server without keys over the
// library (the local user's first page). Cold: a fresh browser context each time (no cache); warm: a reload in it.
// Writes the "## Web UI" section of BENCHMARKS.md (--no-write: print only).
// Usage: npm run bench:ui [-- --runs N] [--no-write]

import { parseArgs } from 'node:util';
import { get } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { launch, startUiServer, CHROMIUM } from '../test/ui/harness.ts';
import { REPO_ROOT } from '../test/shared.ts';
import { hearthRevision, machineDescription, writeSection } from './benchmarks-md.ts';

const { values } = parseArgs({ options: { runs: { type: 'string' }, 'no-write': { type: 'boolean' } } });
const RUNS = Number(values.runs ?? 10);
const GOAL_KB = 150;
const GOAL_MS = 500;

/** Bytes on the wire for a GET with Accept-Encoding: gzip (node's fetch would decompress). */
function wireBytes(url: string): Promise<{ bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ bytes, encoding: String(res.headers['content-encoding'] ?? 'identity') }));
    }).on('error', reject);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const server = await startUiServer({ auth: false, preload: false });
const browser = await launch();
try {
  // the chat marks the moment it is usable (models listed, composer up): performance.mark('hearth:chat-ready')
  const interactive = async (page: import('playwright-core').Page) => {
    await page.locator('#model option').first().waitFor({ state: 'attached' });
    await page.locator('#prompt').waitFor();
    return page.evaluate(() => (globalThis as any).performance.getEntriesByName('hearth:chat-ready')[0].startTime as number);
  };

  // what the first load fetches
  const first = await browser.newContext();
  const page = await first.newPage();
  const urls: string[] = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.goto(`${server.base}/ui/`, { waitUntil: 'networkidle' });
  const ready = await interactive(page);
  const beforeReady = new Set(await page.evaluate((t) => (globalThis as any).performance.getEntriesByType('resource')
    .filter((r: any) => r.responseEnd <= t).map((r: any) => r.name as string), ready));
  await first.close();
  const assets = [...new Set(urls.filter((u) => u.startsWith(`${server.base}/ui/`)))];
  const sizes = await Promise.all(assets.map(async (u) => ({ url: u.slice(server.base.length), ...(await wireBytes(u)) })));
  const sum = (re: RegExp) => sizes.filter((s) => re.test(s.url)).reduce((n, s) => n + s.bytes, 0);
  const jsBytes = sum(/\.js$/);
  const jsBeforeReady = sizes.filter((s) => /\.js$/.test(s.url) && beforeReady.has(server.base + s.url)).reduce((n, s) => n + s.bytes, 0);
  const cssBytes = sum(/\.css$/);
  const htmlBytes = sum(/\/ui\/$/);

  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    await p.goto(`${server.base}/ui/`);
    cold.push(await interactive(p));
    await p.reload();
    warm.push(await interactive(p));
    await ctx.close();
  }
  const kb = (n: number) => (n / 1024).toFixed(1);
  const chromium = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim();
  const table = [
    '| first page load (chat, loopback) | value | goal |',
    '| --- | ---: | ---: |',
    `| JS, gzipped, all the first load fetches (${sizes.filter((s) => s.url.endsWith('.js')).length} files) | ${kb(jsBytes)} KB | ≤ ${GOAL_KB} KB |`,
    `| of which before the chat is usable | ${kb(jsBeforeReady)} KB | |`,
    `| CSS, gzipped | ${kb(cssBytes)} KB | |`,
    `| HTML | ${kb(htmlBytes)} KB | |`,
    `| time to interactive, cold (median of ${RUNS}; min–max ${Math.round(Math.min(...cold))}–${Math.round(Math.max(...cold))} ms) | ${Math.round(median(cold))} ms | ≤ ${GOAL_MS} ms |`,
    `| time to interactive, warm reload (median of ${RUNS}) | ${Math.round(median(warm))} ms | |`,
  ].join('\n');
  const within = jsBytes / 1024 <= GOAL_KB && median(cold) <= GOAL_MS;
  process.stdout.write(`${table}\n\n${within ? 'within both goals' : 'OVER a goal'}\n`);
  if (!values['no-write']) {
    const body = [
      'The web UI at `/ui/`: what the first page load fetches and how soon the chat is usable, in Chromium on loopback. ' +
      'Time to interactive runs from the start of navigation to the chat page showing the model list (fetched from ' +
      '`/v1/models` after the session check) with its composer ready: the page marks that moment ' +
      '(`performance.mark(\'hearth:chat-ready\')`). The Markdown renderer (marked, DOMPurify, highlight.js) is a chunk ' +
      'loaded once the chat is usable (or when a reply needs it first); the admin pages are chunks loaded when opened. Cold: a fresh browser context (empty cache); warm: a reload ' +
      'in it (the hashed assets come from the cache). The server has no keys, so the local user goes straight to the chat. ' +
      'Regenerate: `npm run bench:ui`.',
      '',
      table,
      '',
      `Files: ${sizes.filter((s) => s.url.endsWith('.js')).map((s) => `${s.url.replace('/ui/assets/', '')} ${kb(s.bytes)} KB`).join(', ')}. ` +
      `Built by esbuild (\`scripts/build-ui.js\`): Preact, marked, DOMPurify, highlight.js (10 languages). ${within ? 'Within both goals.' : 'Over a goal.'}`,
      '',
      'Page, server and browser share the machine, so the times move with its load (the load average below, read at ' +
      'the end): on a 2-core machine shared with other work the cold median has ranged from about 540 ms (load 3) to ' +
      'about 860 ms (load 12) for the same build; the bytes do not change.',
      '',
      `Machine: ${machineDescription()}, load average ${loadavg()[0]!.toFixed(2)}; ${chromium} (headless, --no-sandbox); Node ${process.version}; hearth ${hearthRevision()}.`,
    ].join('\n');
    writeSection(join(REPO_ROOT, 'BENCHMARKS.md'), '## Web UI', body);
    process.stdout.write('wrote the "## Web UI" section of BENCHMARKS.md\n');
  }
} finally {
  await browser.close();
  await server.close();
}
