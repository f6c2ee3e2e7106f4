// Which rlimit a finished run ran into, from the signal that ended it and the program's error output. The kernel
// does not say which limit refused a fork or an allocation; the interpreters' messages for EAGAIN, ENOMEM, EMFILE
// and EFBIG do, so those findings are marked `inferred`.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LimitHit, LimitName, SandboxLimits } from './types.ts';

const PATTERNS: ReadonlyArray<{ limit: LimitName; re: RegExp }> = [
  // bash "fork: retry: Resource temporarily unavailable", Python BlockingIOError [Errno 11], Node spawn EAGAIN
  { limit: 'processes', re: /fork: (?:retry: )?Resource temporarily unavailable|\[Errno 11\] Resource temporarily unavailable|\bEAGAIN\b|can't start new thread|pthread_create: Resource temporarily unavailable/ },
  // Python MemoryError, bash xmalloc, Node/V8 heap and mmap failures, ENOMEM anywhere
  { limit: 'memoryBytes', re: /\bMemoryError\b|cannot allocate memory|Cannot allocate memory|out of memory|Out of memory|\bENOMEM\b|allocation failed|Array buffer allocation failed|Failed to allocate memory|ERR_MEMORY_ALLOCATION_FAILED|bad_alloc/ },
  { limit: 'openFiles', re: /Too many open files|\bEMFILE\b/ },
  { limit: 'fileBytes', re: /File too large|\bEFBIG\b/ },
  // the private /tmp or /dev/shm is full (the workspace's own cap is enforced by polling)
  { limit: 'tmpBytes', re: /No space left on device|\bENOSPC\b/ },
];

/** The line of `s` that holds index `i`, cut to 100 characters. */
function lineAt(s: string, i: number): string {
  const start = s.lastIndexOf('\n', i - 1) + 1;
  const end = s.indexOf('\n', i);
  return s.slice(start, end < 0 ? undefined : end).trim().slice(0, 100);
}

function largestFile(dir: string, depth = 0): number {
  let max = 0;
  if (depth > 16) return 0;
  try {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) max = Math.max(max, largestFile(p, depth + 1));
      else if (e.isFile()) max = Math.max(max, statSync(p).size);
    }
  } catch { /* removed */ }
  return max;
}

export function inferLimits(limits: SandboxLimits, signal: string | null, stderr: string, workspace: string): LimitHit[] {
  const hits: LimitHit[] = [];
  if (signal === 'SIGXCPU') hits.push({ limit: 'cpuSeconds', value: limits.cpuSeconds, how: 'signal', detail: 'SIGXCPU: the CPU-time limit' });
  if (signal === 'SIGXFSZ') hits.push({ limit: 'fileBytes', value: limits.fileBytes, how: 'signal', detail: 'SIGXFSZ: the file-size limit' });
  for (const { limit, re } of PATTERNS) {
    if (hits.some((h) => h.limit === limit)) continue;
    const m = re.exec(stderr);
    if (m) hits.push({ limit, value: limits[limit], how: 'inferred', detail: `stderr: ${lineAt(stderr, m.index)}` });
  }
  if (!hits.some((h) => h.limit === 'fileBytes') && largestFile(workspace) >= limits.fileBytes) {
    hits.push({ limit: 'fileBytes', value: limits.fileBytes, how: 'inferred', detail: 'a workspace file reached the file-size limit' });
  }
  return hits;
}
