// The Linux sandbox: bubblewrap with every namespace unshared and a seccomp filter, under rlimits, as an unprivileged
// uid when Hearth is root, with a wall-clock kill, output caps, a workspace growth cap and a sweep of the run's uid.

import { spawn, spawnSync } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { accessSync, constants as fsConstants, existsSync, lstatSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { HearthError } from '../util/errors.ts';
import { FD, planCommand, planProcess } from './bwrap-args.ts';
import { seccompProgram } from './seccomp.ts';
import { inferLimits } from './limits.ts';
import { closedAncestor, killUid, MAX_WORKSPACE_ENTRIES, ownWorkspace, workspaceBytes } from './host.ts';
import {
  DEFAULT_LIMITS, type LimitHit, type Sandbox, type SandboxLimits, type SandboxProcess, type SandboxProcessRequest, type SandboxRequest,
  type SandboxResult,
} from './types.ts';

export interface BwrapOptions {
  /** Host uids handed out to runs when Hearth is root: one at random from [first, first + count). */
  readonly uidRange?: { first: number; count: number };
  /** Default limits for every run (a request's limits override them). */
  readonly limits?: Partial<SandboxLimits>;
  /** How often the workspace's size is checked, in milliseconds. */
  readonly diskPollMs?: number;
  /** Workspace entries the disk poll walks at most; more is over the disk cap (default MAX_WORKSPACE_ENTRIES). */
  readonly maxWorkspaceEntries?: number;
  /** Folders to find bwrap, prlimit and setpriv in (default: PATH, then /usr/bin, /usr/sbin, /bin). */
  readonly searchPath?: readonly string[];
}

const DEFAULT_UID_RANGE = { first: 200_000, count: 100_000 };

function which(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const p = join(dir, name);
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}

const SIGNAL_NAMES = Object.fromEntries(Object.entries(osConstants.signals).map(([k, v]) => [v, k])) as Record<number, string>;

/**
 * A bubblewrap sandbox. Checks its tools and platform now (throws sandbox_unavailable); `probe()` runs a program
 * once to show that namespaces and the filter actually work here.
 */
export function bwrapSandbox(options: BwrapOptions = {}): Sandbox & { probe(): Promise<void> } {
  if (process.platform !== 'linux') throw new HearthError('sandbox_unavailable', `the bubblewrap sandbox needs Linux, not ${process.platform}`);
  const dirs = options.searchPath ?? (process.env.PATH ?? '').split(delimiter).filter(Boolean).concat(['/usr/bin', '/usr/sbin', '/bin']);
  const tools = { bwrap: which('bwrap', dirs), prlimit: which('prlimit', dirs), setpriv: which('setpriv', dirs) };
  const missing = Object.entries(tools).filter(([, p]) => !p).map(([n]) => n);
  if (missing.length) {
    throw new HearthError('sandbox_unavailable', `${missing.join(', ')} not found: install bubblewrap and util-linux (scripts/install-system-deps.sh)`);
  }
  const seccomp = seccompProgram();
  const seccompNet = seccompProgram(process.arch, { network: true });
  const nodeBinary = realpathSync(process.execPath);
  const root = process.geteuid?.() === 0;
  const uidRange = options.uidRange ?? DEFAULT_UID_RANGE;
  const pollMs = options.diskPollMs ?? 100;
  const maxEntries = options.maxWorkspaceEntries ?? MAX_WORKSPACE_ENTRIES;

  /** The workspace's real path, checked: a directory the run's uid can reach. */
  function checkedWorkspace(path: string, others: readonly string[] = []): string {
    let workspace: string;
    try {
      workspace = realpathSync(path);
      if (!lstatSync(workspace).isDirectory()) throw new Error('not a directory');
    } catch (e) {
      throw new HearthError('invalid_argument', `workspace ${path}: ${(e as Error).message}`);
    }
    if (root) {
      for (const p of [workspace, nodeBinary, ...others]) {
        const closed = closedAncestor(p);
        if (closed) {
          throw new HearthError('sandbox_unavailable', `${closed} is not searchable by other users (mode o+x), so the sandbox's ` +
            `unprivileged uid cannot reach ${p} below it: chmod o+x ${closed}, or use a folder elsewhere`);
        }
      }
    }
    return workspace;
  }

  async function run(req: SandboxRequest): Promise<SandboxResult> {
    const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits, ...req.limits };
    const workspace = checkedWorkspace(req.workspace);
    const uid = root ? uidRange.first + Math.floor(Math.random() * uidRange.count) : process.getuid!();
    const owner = lstatSync(workspace);
    if (root) ownWorkspace(workspace, uid, uid);
    try {
      return await runAs(req, limits, workspace, uid);
    } finally {
      if (root) ownWorkspace(workspace, owner.uid, owner.gid);
    }
  }

  async function runAs(req: SandboxRequest, limits: SandboxLimits, workspace: string, uid: number): Promise<SandboxResult> {
    const plan = planCommand({
      language: req.language, workspace, limits, args: req.args ?? [], nodeBinary,
      runAs: root ? { uid, gid: uid } : undefined,
      tools: tools as { bwrap: string; prlimit: string; setpriv: string },
    });
    const startBytes = workspaceBytes(workspace, maxEntries);
    if (startBytes === Infinity) throw new HearthError('invalid_argument', `workspace ${workspace} holds more than ${maxEntries} entries`);
    const t0 = performance.now();
    const child = spawn(plan.file, plan.args, {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true, // its own process group, killed as one
      env: {},
    });
    const hits: LimitHit[] = [];
    const kill = (hit?: LimitHit) => {
      if (hit && !hits.some((h) => h.limit === hit.limit)) hits.push(hit);
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch { /* gone */ }
    };
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], stdoutBytes: 0, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false };
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]!.on('data', (b: Buffer) => {
        const have = out[`${name}Bytes`];
        if (have >= limits.outputBytes) return;
        const keep = b.subarray(0, limits.outputBytes - have);
        out[name].push(keep);
        out[`${name}Bytes`] += keep.length;
        if (keep.length < b.length) {
          out[`${name}Truncated`] = true;
          kill({ limit: 'outputBytes', value: limits.outputBytes, how: 'enforced', detail: `${name} passed ${limits.outputBytes} bytes` });
        }
      });
    }
    const fdSeccomp = child.stdio[FD.seccomp] as NodeJS.WritableStream;
    const fdProgram = child.stdio[FD.program] as NodeJS.WritableStream;
    for (const s of [child.stdin, fdSeccomp, fdProgram]) (s as NodeJS.EventEmitter).on('error', () => { /* the sandbox ended first */ });
    fdSeccomp.end(seccomp);
    fdProgram.end(Buffer.from(req.code));
    child.stdin!.end(req.stdin ?? '');

    const wall = setTimeout(() => kill({ limit: 'wallMs', value: limits.wallMs, how: 'enforced', detail: `still running after ${limits.wallMs} ms` }), limits.wallMs);
    const disk = setInterval(() => {
      const grown = workspaceBytes(workspace, maxEntries) - startBytes;
      if (grown > limits.diskBytes) {
        kill({ limit: 'diskBytes', value: limits.diskBytes, how: 'enforced',
          detail: grown === Infinity ? `the workspace holds more than ${maxEntries} entries` : `the workspace grew by ${grown} bytes` });
      }
    }, pollMs);
    const onAbort = () => kill();
    req.signal?.addEventListener('abort', onAbort, { once: true });

    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('error', (e) => resolve(e));
      child.once('close', () => resolve(undefined));
    });
    const closeCode = child.exitCode, closeSignal = child.signalCode;
    clearTimeout(wall);
    clearInterval(disk);
    req.signal?.removeEventListener('abort', onAbort);
    const durationMs = performance.now() - t0;
    const leftoverProcesses = root ? await killUid(uid) : 0;
    if (spawnError) throw new HearthError('sandbox_unavailable', `could not start the sandbox: ${spawnError.message}`, { cause: spawnError });

    const stdout = Buffer.concat(out.stdout).toString('utf8');
    const stderr = Buffer.concat(out.stderr).toString('utf8');
    // bwrap exits with the program's status, or 128 + the signal that ended it.
    let exitCode: number | null = closeCode;
    let signal: string | null = closeSignal;
    if (exitCode !== null && exitCode > 128 && exitCode < 128 + 65 && !stderr.startsWith('bwrap:')) {
      signal = SIGNAL_NAMES[exitCode - 128] ?? `signal ${exitCode - 128}`;
      exitCode = null;
    }
    if (exitCode === 1 && /^bwrap: /m.test(stderr) && !hits.length) {
      throw new HearthError('sandbox_unavailable', `bubblewrap failed: ${stderr.trim().split('\n').find((l) => l.startsWith('bwrap:'))}`);
    }
    if (req.signal?.aborted) throw new HearthError('aborted', 'the sandboxed run was cancelled');
    for (const h of inferLimits(limits, signal, stderr, workspace)) if (!hits.some((x) => x.limit === h.limit)) hits.push(h);
    return {
      exitCode, signal, stdout, stderr, stdoutTruncated: out.stdoutTruncated, stderrTruncated: out.stderrTruncated,
      durationMs, limits: hits, leftoverProcesses, tier: 'bwrap', uid, appliedLimits: limits,
    };
  }

  function spawnProcess(req: SandboxProcessRequest): SandboxProcess {
    const limits: SandboxLimits = { ...DEFAULT_LIMITS, ...options.limits, ...req.limits };
    const readOnly = (req.readOnly ?? []).map((p) => {
      try {
        return realpathSync(p);
      } catch (e) {
        throw new HearthError('invalid_argument', `read-only path ${p}: ${(e as Error).message}`);
      }
    });
    const workspace = checkedWorkspace(req.workspace, readOnly);
    if (!req.command.length) throw new HearthError('invalid_argument', 'the sandboxed process has no command');
    const uid = root ? uidRange.first + Math.floor(Math.random() * uidRange.count) : process.getuid!();
    const owner = lstatSync(workspace);
    const plan = planProcess({
      command: req.command, env: req.env ?? {}, readOnly, network: req.network === true, workspace, limits, nodeBinary,
      runAs: root ? { uid, gid: uid } : undefined,
      tools: tools as { bwrap: string; prlimit: string; setpriv: string },
    }, existsSync);
    if (root) ownWorkspace(workspace, uid, uid);
    const child = spawn(plan.file, plan.args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true, env: {} });
    const fdSeccomp = child.stdio[FD.seccomp] as NodeJS.WritableStream;
    for (const s of [child.stdin, fdSeccomp]) (s as NodeJS.EventEmitter).on('error', () => { /* the sandbox ended first */ });
    fdSeccomp.end(req.network ? seccompNet : seccomp);
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch { /* gone */ }
    };
    const exited = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      let done = false;
      const finish = async () => {
        if (done) return;
        done = true;
        if (root) {
          await killUid(uid);
          ownWorkspace(workspace, owner.uid, owner.gid);
        }
        resolve({ exitCode: child.exitCode, signal: child.signalCode });
      };
      child.once('error', () => void finish());
      child.once('close', () => void finish());
    });
    return { stdin: child.stdin!, stdout: child.stdout!, stderr: child.stderr!, exited, kill };
  }

  async function probe(): Promise<void> {
    const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    try {
      const r = await run({ language: 'bash', code: 'echo ok', workspace: dir, limits: { wallMs: 5000 } });
      if (r.stdout.trim() !== 'ok') throw new HearthError('sandbox_unavailable', `the sandbox probe failed: ${r.stderr.trim() || `exit ${r.exitCode ?? r.signal}`}`);
    } finally {
      spawnSync('rm', ['-rf', '--', dir]);
    }
  }

  return { tier: 'bwrap', run, spawn: spawnProcess, probe };
}
