// BENCHMARKS.md is shared by every benchmark script: each one owns a single "## " section and
// rewrites only that, so results of different scripts live side by side.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { REPO_ROOT } from '../test/shared.ts';

const PREAMBLE = '# Benchmarks\n\nWritten by the scripts in bench/; each section says how to regenerate it.\n';

/**
 * `doc` with the section that starts at `heading` (a "## " line) replaced by `body`, up to the next
 * "## " heading or the end; appended when absent. Everything else is kept byte for byte.
 */
export function replaceSection(doc: string, heading: string, body: string): string {
  if (!heading.startsWith('## ') || heading.includes('\n')) throw new Error(`not a "## " heading: ${heading}`);
  const section = `${heading}\n\n${body.trim()}\n`;
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  if (start < 0) return `${doc.trimEnd()}\n\n${section}`;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  if (end < 0) end = lines.length;
  const before = lines.slice(0, start).join('\n');
  const after = lines.slice(end).join('\n');
  return `${before}${start > 0 ? '\n' : ''}${section}${end < lines.length ? `\n${after}` : ''}`;
}

/** Rewrites one section of the file at `path` (created with a short preamble when missing). */
export function writeSection(path: string, heading: string, body: string): void {
  const doc = existsSync(path) ? readFileSync(path, 'utf8') : PREAMBLE;
  writeFileSync(path, replaceSection(doc, heading, body));
}

/** "AMD EPYC 7B13, 2 cores": the CPU model as /proc/cpuinfo names it, and the cores Node may use. */
export function machineDescription(): string {
  let model = cpus()[0]?.model?.trim() ?? '';
  if (existsSync('/proc/cpuinfo')) {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  }
  return `${model || 'unknown CPU'}, ${cpus().length} cores`;
}

/** The SIMD flags of this CPU that the kernels care about ("sse4_2 avx avx2 fma f16c avx512f …"), from /proc/cpuinfo. */
export function cpuFlags(): string {
  if (!existsSync('/proc/cpuinfo')) return 'unknown';
  const m = /^flags\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  const flags = new Set((m?.[1] ?? '').split(/\s+/));
  const named = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16', 'avx_vnni', 'amx_tile'];
  return named.filter((f) => flags.has(f)).join(' ') || 'unknown';
}

/** The commit measured ("a56410c", "+dirty" when src/ has uncommitted changes), or "unknown" outside a git checkout. */
export function hearthRevision(): string {
  try {
    let rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim()) rev += '+dirty';
    return rev;
  } catch {
    return 'unknown';
  }
}
