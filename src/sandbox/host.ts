// Host-side chores of a run when Hearth is root: hand the workspace to the run's uid, measure it, and sweep the uid's
// processes afterwards.

import { lchownSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Gives every entry of the workspace to `uid`:`gid` (lchown: a symlink itself, never what it points to; folders
 * reached through symlinks are not entered). A regular file with more than one link is left alone: the other link
 * could be a file outside the workspace. Before a run the workspace goes to the run's uid; after it, back to the
 * owner of the workspace folder.
 */
export function ownWorkspace(dir: string, uid: number, gid: number): void {
  // iterative: a run can nest folders deeper than a recursive walk's stack
  lchownSync(dir, uid, gid);
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        lchownSync(p, uid, gid);
        stack.push(p);
      } else if (e.isSymbolicLink() || lstatSync(p).nlink === 1) lchownSync(p, uid, gid);
    }
  }
}

/** Workspace entries the size poll walks at most; more is treated as over the disk cap (a walk must stay short). */
export const MAX_WORKSPACE_ENTRIES = 20_000;

/**
 * Bytes the workspace takes: per entry the larger of its length and its allocated blocks (sparse files count too).
 * Infinity when it holds more than `maxEntries` entries.
 */
export function workspaceBytes(dir: string, maxEntries = MAX_WORKSPACE_ENTRIES): number {
  let total = 0;
  let left = maxEntries;
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop()!;
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      continue; // removed while we looked
    }
    left -= entries.length;
    if (left < 0) return Infinity;
    for (const e of entries) {
      const p = join(d, e.name);
      try {
        const st = lstatSync(p);
        total += Math.max(st.size, st.blocks * 512);
        if (st.isDirectory()) stack.push(p);
      } catch { /* removed while we looked */ }
    }
  }
  return total;
}

/** Live processes whose real uid is `uid` (zombies are dead already: their parent or init reaps them). */
export function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const m = /^Uid:\s+(\d+)/m.exec(status);
      if (m && Number(m[1]) === uid && !/^State:\s+Z/m.test(status)) pids.push(Number(name));
    } catch { /* exited */ }
  }
  return pids;
}

/**
 * SIGKILLs every process of `uid` (a uid used by this run alone) and waits, up to `waitMs`, until none is alive;
 * returns how many there were at first.
 */
export async function killUid(uid: number, waitMs = 2000): Promise<number> {
  const first = processesOf(uid);
  const deadline = performance.now() + waitMs;
  for (let pids = first; pids.length; pids = processesOf(uid)) {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* exited */ }
    }
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return first.length;
}

/** The first folder above `path` (from the root down) that other users cannot search (no o+x), if any. */
export function closedAncestor(path: string): string | undefined {
  const chain: string[] = [];
  for (let d = dirname(path); ; d = dirname(d)) {
    chain.unshift(d);
    if (d === dirname(d)) break;
  }
  return chain.find((d) => (lstatSync(d).mode & 0o001) === 0);
}
