// The command line of one sandboxed run: prlimit (resource limits) → setpriv (root only: an unprivileged uid, no
// capabilities, no new privileges) → bwrap (namespaces, mounts, the seccomp filter) → the interpreter. Pure: the
// runner spawns what this returns.

import type { SandboxLanguage, SandboxLimits } from './types.ts';

/** Where things are inside the sandbox. */
export const INSIDE = {
  workspace: '/workspace',
  programDir: '/program',
  node: '/opt/hearth/bin/node',
  uid: 1000,
  gid: 1000,
} as const;

/** File descriptors the runner passes to bwrap: the seccomp program and the program's source. */
export const FD = { seccomp: 3, program: 4 } as const;

export interface CommandPlan {
  readonly file: string;
  readonly args: string[];
  /** Path of the program inside the sandbox. */
  readonly programPath: string;
}

export interface PlanOptions {
  readonly language: SandboxLanguage;
  /**
   * Absolute host path of the workspace (resolved, a real directory). bwrap resolves it as the run's uid, so every
   * folder above it must be searchable by others (bwrap's --bind-fd would avoid that, but it refuses the fd once it
   * runs as an unprivileged uid here: "Can't find source path /proc/self/fd/N: Permission denied").
   */
  readonly workspace: string;
  /** The Node binary (process.execPath's real path), mounted read-only at INSIDE.node. */
  readonly nodeBinary: string;
  readonly limits: SandboxLimits;
  readonly args: readonly string[];
  /** Host uid/gid to run as when Hearth is root; undefined to stay the current (unprivileged) user. */
  readonly runAs?: { uid: number; gid: number };
  /** The host paths tools come from: `bwrap`, `prlimit`, `setpriv`. */
  readonly tools: { bwrap: string; prlimit: string; setpriv: string };
}

const EXT: Record<SandboxLanguage, string> = { python: 'py', node: 'mjs', bash: 'sh' };

/** The interpreter command line inside the sandbox. */
export function interpreter(language: SandboxLanguage, programPath: string, args: readonly string[]): string[] {
  switch (language) {
    // -I: isolated (no user site, no PYTHON* variables, the script's folder not on sys.path); -B: no .pyc writes.
    case 'python': return ['/usr/bin/python3', '-I', '-B', programPath, ...args];
    case 'node': return [INSIDE.node, '--disable-proto=delete', programPath, ...args];
    case 'bash': return ['/usr/bin/bash', '--noprofile', '--norc', programPath, ...args];
  }
}

/** What a long-lived process (an MCP server on stdio) gets beyond a program's run. */
export interface ProcessPlanOptions extends Omit<PlanOptions, 'language' | 'args'> {
  /** The command inside the sandbox: an absolute path there, or `node` (the mounted Node binary); then its arguments. */
  readonly command: readonly string[];
  /** Environment variables set inside (the rest is cleared). */
  readonly env: Readonly<Record<string, string>>;
  /** Host paths mounted read-only at the same place inside (the server's code, say). */
  readonly readOnly: readonly string[];
  /** Share the host's network namespace (with /etc/resolv.conf, hosts and certificates); otherwise there is none. */
  readonly network: boolean;
}

/** Files a networked process needs to resolve names and check certificates, mounted read-only when present. */
export const NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/etc/ssl', '/etc/ca-certificates'];

function prlimitArgs(L: SandboxLimits): string[] {
  return [
    `--nproc=${L.processes}`,
    `--cpu=${L.cpuSeconds}:${L.cpuSeconds + 1}`,
    `--fsize=${L.fileBytes}`,
    `--nofile=${L.openFiles}`,
    `--as=${L.memoryBytes}`,
    '--core=0',
  ];
}

function setprivArgs(o: Pick<PlanOptions, 'runAs' | 'tools'>): string[] {
  return o.runAs
    ? [o.tools.setpriv, `--reuid=${o.runAs.uid}`, `--regid=${o.runAs.gid}`, '--clear-groups', '--inh-caps=-all',
      '--bounding-set=-all', '--no-new-privs', '--']
    : [];
}

/** bwrap up to the mounts that differ between a program's run and a process. */
function bwrapBase(o: Pick<PlanOptions, 'tools' | 'nodeBinary' | 'limits' | 'workspace'>, network: boolean): string[] {
  const L = o.limits;
  return [
    o.tools.bwrap,
    '--unshare-all', ...(network ? ['--share-net'] : []), '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--clearenv',
    '--uid', String(INSIDE.uid), '--gid', String(INSIDE.gid), '--hostname', 'sandbox',
    '--ro-bind', '/usr', '/usr',
    '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/sbin', '/sbin',
    '--ro-bind', o.nodeBinary, INSIDE.node,
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(L.tmpBytes), '--tmpfs', '/dev/shm',
    '--size', String(L.tmpBytes), '--tmpfs', '/tmp',
    '--bind', o.workspace, INSIDE.workspace,
  ];
}

const BASE_ENV = ['--setenv', 'PATH', '/usr/bin:/bin', '--setenv', 'HOME', '/tmp', '--setenv', 'TMPDIR', '/tmp', '--setenv', 'LANG', 'C.UTF-8'];

export function planCommand(o: PlanOptions): CommandPlan {
  const programPath = `${INSIDE.programDir}/main.${EXT[o.language]}`;
  const bwrap = [
    ...bwrapBase(o, false),
    '--perms', '0444', '--ro-bind-data', String(FD.program), programPath,
    '--remount-ro', '/',
    '--chdir', INSIDE.workspace,
    ...BASE_ENV,
    '--setenv', 'PYTHONDONTWRITEBYTECODE', '1',
    '--seccomp', String(FD.seccomp),
    '--',
    ...interpreter(o.language, programPath, o.args),
  ];
  return { file: o.tools.prlimit, args: [...prlimitArgs(o.limits), '--', ...setprivArgs(o), ...bwrap], programPath };
}

/**
 * The command line of a long-lived sandboxed process: the same namespaces, filter and limits as a run, with its
 * command instead of a program, its environment, read-only mounts of `readOnly` and, where allowed, the network.
 */
export function planProcess(o: ProcessPlanOptions, exists: (path: string) => boolean): Omit<CommandPlan, 'programPath'> {
  const [first, ...rest] = o.command;
  if (first === undefined) throw new Error('planProcess: empty command');
  const command = first === 'node' ? INSIDE.node : first;
  const mounts = o.readOnly.flatMap((p) => ['--ro-bind', p, p]);
  const net = o.network ? NETWORK_FILES.filter(exists).flatMap((p) => ['--ro-bind', p, p]) : [];
  const env = Object.entries(o.env).flatMap(([k, v]) => ['--setenv', k, v]);
  const bwrap = [
    ...bwrapBase(o, o.network),
    ...mounts, ...net,
    '--remount-ro', '/',
    '--chdir', INSIDE.workspace,
    ...BASE_ENV, ...env,
    '--seccomp', String(FD.seccomp),
    '--',
    command, ...rest,
  ];
  return { file: o.tools.prlimit, args: [...prlimitArgs(o.limits), '--', ...setprivArgs(o), ...bwrap] };
}
