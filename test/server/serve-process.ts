// `hearth serve` as a child process on a free port (port 0): resolves with its base URL once it printed its listen
// line; stdout is drained (kept only until then) or written to a file, stderr kept for failure messages.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../shared.ts';

export const HEARTH_BIN = join(REPO_ROOT, 'bin', 'hearth.js');

export interface ServeProcess {
  child: ChildProcess;
  base: string;
  /** The exit code (or the signal's name) once it exits. */
  exited: Promise<number | string>;
  /** What it wrote to stderr. */
  stderr(): string;
}

/** `stdoutFile`: the server's stdout goes there (this process never reads it but for the listen line). */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, stdoutFile?: string): Promise<ServeProcess> {
  if (stdoutFile) return spawnToFile(args, env, timeoutMs, stdoutFile);
  const child = spawn(process.execPath, [HEARTH_BIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hearth serve did not listen within ${timeoutMs} ms: ${out}${err}`)), timeoutMs);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        out = '';
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`hearth serve exited (${code}): ${out}${err}`)); });
  });
  return { child, base, exited, stderr: () => err };
}

async function spawnToFile(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, file: string): Promise<ServeProcess> {
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, [HEARTH_BIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  let code: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => child.once('exit', (c, signal) => resolve(code = c ?? signal ?? -1)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(file, 'utf8'));
    if (m) return { child, base: m[1]!, exited, stderr: () => err };
    if (code !== undefined) throw new Error(`hearth serve exited (${code}): ${err}`);
    if (Date.now() > deadline) throw new Error(`hearth serve did not listen within ${timeoutMs} ms: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
