// The workspace's git repository: every change the assistant makes is a commit whose message holds the task, the
// reasoning summary and the decision context as trailers. git is spawned with argument arrays (never a shell), the
// message goes on stdin, hooks are off (the repository's hooks folder is inside a folder sandboxed code may write),
// and while sandboxed code runs, a .git folder inside the workspace is moved out of its reach.

import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HearthError } from '../util/errors.ts';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ENV_KEEP = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

/** Runs `git -C dir ARGS…` with `input` on stdin. */
export function git(dir: string, args: readonly string[], input?: string): Promise<GitResult> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(ENV_KEEP.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
  Object.assign(env, {
    GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 'Hearth assistant', GIT_AUTHOR_EMAIL: 'hearth@localhost',
    GIT_COMMITTER_NAME: 'Hearth assistant', GIT_COMMITTER_EMAIL: 'hearth@localhost',
  });
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, '-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'commit.gpgsign=false', ...args],
      { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => reject(new HearthError('io_error', `cannot run git: ${e.message} (install git)`, { cause: e })));
    child.once('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => { /* git ended first */ });
    child.stdin.end(input ?? '');
  });
}

async function ok(dir: string, args: readonly string[], input?: string): Promise<string> {
  const r = await git(dir, args, input);
  if (r.code !== 0) throw new HearthError('io_error', `git ${args[0]} failed in ${dir}: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

export interface Repo {
  /** The workspace (a real path). */
  readonly dir: string;
  /** The repository's git folder, absolute. */
  readonly gitDir: string;
  /** Whether the git folder lies inside the workspace (then it is moved aside while code runs). */
  readonly gitDirInside: boolean;
  /** The repository was made here (git init), because the folder was in none. */
  readonly created: boolean;
}

/**
 * The workspace's repository; a folder in no repository gets a new one (git init). `own`: the folder must be its
 * repository's top (a folder inside another repository gets its own, so that nothing is committed to the outer one).
 */
export async function openRepo(workspace: string, own = false): Promise<Repo> {
  let dir: string;
  try {
    dir = realpathSync(workspace);
  } catch (e) {
    throw new HearthError('invalid_argument', `workspace ${workspace}: ${(e as Error).message}`);
  }
  let created = false;
  let r = await git(dir, ['rev-parse', '--absolute-git-dir']);
  if (r.code !== 0 || (own && r.stdout.trim() !== join(dir, '.git'))) {
    await ok(dir, ['init', '-q']);
    created = true;
    r = await git(dir, ['rev-parse', '--absolute-git-dir']);
  }
  const gitDir = r.stdout.trim();
  return { dir, gitDir, gitDirInside: gitDir === join(dir, '.git'), created };
}

/** One trailer value on one line (git reads a trailer up to its line's end). */
const oneLine = (s: string, max = 300): string => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
};

export interface CommitContext {
  task: string;
  /** What this step did, one line (the commit's subject). */
  subject: string;
  /** The reasoning summary: the model's plan and what it said at this step. */
  reasoning: string;
  risk: string;
  review: string;
  approvedBy: string;
  taskId: string;
  actionId: string;
}

/** The commit message: subject, task, reasoning, then the decision context as trailers. */
export function commitMessage(c: CommitContext): string {
  const body = [
    oneLine(c.subject, 72), '',
    `Task: ${c.task.trim()}`, '',
    ...(c.reasoning.trim() ? [`Reasoning: ${c.reasoning.trim()}`, ''] : []),
    `Hearth-Task: ${oneLine(c.taskId)}`,
    `Hearth-Action: ${oneLine(c.actionId)}`,
    `Hearth-Risk: ${oneLine(c.risk, 600)}`,
    `Hearth-Review: ${oneLine(c.review, 600)}`,
    `Hearth-Approved-By: ${oneLine(c.approvedBy)}`,
  ];
  return body.join('\n') + '\n';
}

/**
 * Stages everything under the workspace (or just `paths`) and commits it; undefined when nothing changed.
 * Returns the new commit's id.
 */
export async function commitAll(repo: Repo, message: string, paths?: readonly string[]): Promise<string | undefined> {
  await ok(repo.dir, ['add', '-A', '--', ...(paths ?? ['.'])]);
  const staged = await git(repo.dir, ['diff', '--cached', '--quiet']);
  if (staged.code === 0) return undefined;
  await ok(repo.dir, ['commit', '-q', '--no-verify', '-F', '-'], message);
  return (await ok(repo.dir, ['rev-parse', 'HEAD'])).trim();
}

/** A unified diff from `before` (null: a new file) to `after` for the workspace path `rel`. */
export async function fileDiff(rel: string, before: string | null, after: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-diff-'));
  try {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    if (before !== null) writeFileSync(a, before);
    writeFileSync(b, after);
    const r = await git(dir, ['diff', '--no-index', '--no-color', '--no-ext-diff', '--', before === null ? '/dev/null' : a, b]);
    if (r.code > 1) throw new HearthError('io_error', `git diff failed: ${r.stderr.trim()}`);
    return r.stdout.split('\n').map((l) => {
      if (l.startsWith('diff --git ')) return `diff --git a/${rel} b/${rel}`;
      if (l.startsWith('--- ') && l !== '--- /dev/null') return `--- a/${rel}`;
      if (l.startsWith('+++ ')) return `+++ b/${rel}`;
      return l;
    }).join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `fn` with the workspace's .git folder moved beside the workspace, where sandboxed code cannot reach it (the
 * sandbox mounts the workspace only). A .git the code made in the meantime is removed before the real one returns.
 */
export async function withGitAside<T>(repo: Repo, fn: () => Promise<T>): Promise<{ value: T; removedFakeGit: boolean }> {
  if (!repo.gitDirInside) return { value: await fn(), removedFakeGit: false };
  const aside = join(dirname(repo.dir), `.${basename(repo.dir)}.hearth-git-${randomBytes(6).toString('hex')}`);
  try {
    renameSync(repo.gitDir, aside);
  } catch (e) {
    throw new HearthError('sandbox_unavailable', `cannot move ${repo.gitDir} out of the sandbox's reach while code runs: ${(e as Error).message}`, { cause: e });
  }
  let removedFakeGit = false;
  let value: T;
  try {
    value = await fn();
  } finally {
    if (present(repo.gitDir)) {
      rmSync(repo.gitDir, { recursive: true, force: true });
      removedFakeGit = true;
    }
    renameSync(aside, repo.gitDir);
  }
  return { value, removedFakeGit };
}

/** Whether anything (a dangling symbolic link too) is at `p`. */
function present(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
