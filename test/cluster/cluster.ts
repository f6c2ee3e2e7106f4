// The cluster tests' harness: scripts/cluster.sh brings up real PostgreSQL, Redis, nginx and hearth replicas from
// Debian's packages under a temporary folder on free loopback ports; this reads its cluster.env and drives it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SHARED_DIR } from '../shared.ts';

const SCRIPT = join(REPO_ROOT, 'scripts', 'cluster.sh');

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, bin)));
}

/** Why the cluster tests cannot run here (a Debian package missing), or undefined when they can. */
export function missingServers(needReplicas = true): string | undefined {
  const missing: string[] = [];
  const pg = existsSync('/usr/lib/postgresql') && readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
  if (!pg) missing.push('postgresql');
  if (!onPath('redis-server')) missing.push('redis-server');
  if (needReplicas && !onPath('nginx') && !existsSync('/usr/sbin/nginx')) missing.push('nginx');
  if (missing.length === 0) return undefined;
  return `the Debian packages ${missing.join(', ')} are not installed (bash scripts/install-system-deps.sh installs them)`;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A first port with base, +1, +2 and +11 … +10+n free. */
async function freeBase(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 2000) * 20;
    const ports = [base, base + 1, base + 2, ...Array.from({ length: n }, (_, i) => base + 11 + i)];
    let ok = true;
    for (const p of ports) if (!(ok = await portFree(p))) break;
    if (ok) return base;
  }
  throw new Error('no free ports for the cluster');
}

export interface Cluster {
  dir: string;
  env: Record<string, string>;
  pgUrl: string;
  redisUrl: string;
  /** nginx, when there are replicas. */
  lbUrl: string;
  replicas: { url: string; pid: number }[];
  adminKey: string;
  /** `scripts/cluster.sh stop|start postgres|redis`. */
  service(action: 'stop' | 'start', name: 'postgres' | 'redis'): void;
  /** A replica's log (JSON lines). */
  log(i: number): string;
  down(): void;
}

export async function startCluster(replicas: number): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cluster-'));
  const base = await freeBase(replicas);
  const env = { ...process.env, CLUSTER_DIR: dir, CLUSTER_PORT: String(base), HEARTH_SHARED: SHARED_DIR };
  const run = (...args: string[]) => execFileSync('bash', [SCRIPT, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 }).toString();
  try {
    run('up', String(replicas));
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    try { run('down'); } catch { /* nothing to stop */ }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`scripts/cluster.sh up ${replicas} failed: ${err.stderr?.toString() ?? err.message}`);
  }
  const vars = Object.fromEntries(readFileSync(join(dir, 'cluster.env'), 'utf8').split('\n').filter(Boolean).map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
  return {
    dir, env: vars, pgUrl: vars.PG_URL, redisUrl: vars.REDIS_URL, lbUrl: vars.LB_URL ?? '', adminKey: vars.ADMIN_KEY ?? '',
    replicas: Array.from({ length: replicas }, (_, i) => ({ url: vars[`REPLICA_${i + 1}_URL`], pid: Number(vars[`REPLICA_${i + 1}_PID`]) })),
    service: (action, name) => void run(action, name),
    log: (i) => readFileSync(join(dir, 'logs', `replica-${i}.log`), 'utf8'),
    down: () => {
      try {
        run('down');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** fetch with a key; the body read whole (a response counts as received only then). */
export async function call(url: string, key: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}):
  Promise<{ status: number; text: string; json: () => any; headers: Headers }> {
  const r = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { authorization: `Bearer ${key}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.text();
  return { status: r.status, text, json: () => JSON.parse(text), headers: r.headers };
}

/** A new key through the admin API of `url`. */
export async function createKey(url: string, adminKey: string, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const r = await call(`${url}/admin/keys`, adminKey, { body });
  if (r.status !== 201) throw new Error(`POST /admin/keys answered ${r.status}: ${r.text}`);
  return r.json();
}

/** The value of one Prometheus sample in a /metrics text. */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}
