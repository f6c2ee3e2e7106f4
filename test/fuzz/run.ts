// The GGUF fuzzer's driver: workers (gguf-case.ts) in child processes, each with a heap cap, a resident-memory cap
// (polled from /proc) and a time cap per case; anything but acceptance or a typed HearthError is a failure, and so
// are a crash, a hang and running out of memory. Deterministic per seed: case i is the same mutant on every run.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';

export interface FuzzOptions {
  seed: number;
  /** Stop after this many cases… */
  cases?: number;
  /** …or after this many seconds, whichever comes first. */
  seconds?: number;
  /** First case index (to resume or reproduce). */
  first?: number;
  jobs?: number;
  /** Cases per worker process. */
  batch?: number;
  caseMs?: number;
  heapMiB?: number;
  rssMiB?: number;
  corpus?: string;
}

export interface FuzzFailure { i: number; kind: 'untyped' | 'crash' | 'hang' | 'memory'; message: string }

export interface FuzzReport {
  cases: number;
  accepted: number;
  typed: Record<string, number>;
  failures: FuzzFailure[];
  seconds: number;
}

export const CORPUS_DIR = join(REPO_ROOT, 'test', 'fuzz', 'corpus');

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const t0 = Date.now();
  const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
  const last = o.cases === undefined ? Infinity : (o.first ?? 0) + o.cases;
  const batch = o.batch ?? 2000;
  const caseMs = o.caseMs ?? 10_000;
  const tmp = mkdtempSync(join(tmpdir(), 'hearth-fuzz-'));
  const report: FuzzReport = { cases: 0, accepted: 0, typed: {}, failures: [], seconds: 0 };
  let next = o.first ?? 0;

  const worker = (start: number, count: number) => new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${o.heapMiB ?? 512}`, join(REPO_ROOT, 'test', 'fuzz', 'gguf-case.ts'),
      String(o.seed), String(start), String(count), o.corpus ?? CORPUS_DIR, tmp], { stdio: ['ignore', 'pipe', 'pipe'] });
    let current = -1;
    let since = Date.now();
    let done = start;
    let failed: FuzzFailure | undefined;
    let buf = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { stderr = (stderr + d).slice(-2000); });
    child.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as { i: number; start?: boolean; result?: string; code?: string; message?: string; stack?: string };
        buf = buf.slice(nl + 1);
        if (line.start) { current = line.i; since = Date.now(); continue; }
        report.cases++;
        done = line.i + 1;
        current = -1;
        if (line.result === 'ok') report.accepted++;
        else if (line.result === 'typed') report.typed[line.code!] = (report.typed[line.code!] ?? 0) + 1;
        else report.failures.push({ i: line.i, kind: 'untyped', message: `${line.message} at ${line.stack}` });
        if (Date.now() > deadline) child.kill('SIGKILL');
      }
    });
    const watch = setInterval(() => {
      if (current < 0) return;
      if (Date.now() - since > caseMs) failed = { i: current, kind: 'hang', message: `no result after ${caseMs} ms` };
      else if (rssMiB(child.pid!) > (o.rssMiB ?? 1536)) failed = { i: current, kind: 'memory', message: `resident memory past ${o.rssMiB ?? 1536} MiB` };
      if (failed) child.kill('SIGKILL');
    }, 100);
    child.on('close', (code, signal) => {
      clearInterval(watch);
      if (!failed && current >= 0 && Date.now() <= deadline) {
        failed = { i: current, kind: 'crash', message: `worker exited (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
      }
      if (failed) {
        report.failures.push(failed);
        report.cases++;
        // the rest of the batch runs in a fresh worker
        const from = failed.i + 1;
        if (from < start + count && Date.now() < deadline) return void worker(from, start + count - from).then(resolve);
      } else if (done < start + count && Date.now() < deadline && current < 0 && code !== 0) {
        return void worker(done, start + count - done).then(resolve);
      }
      resolve();
    });
  });

  const lane = async () => {
    while (next < last && Date.now() < deadline) {
      const start = next;
      const count = Math.min(batch, last - start);
      next += count;
      await worker(start, count);
    }
  };
  try {
    await Promise.all(Array.from({ length: o.jobs ?? 1 }, lane));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  report.seconds = (Date.now() - t0) / 1000;
  return report;
}
