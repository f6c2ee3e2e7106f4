// hearth exec --lang python|node|bash FILE|- : runs one program in the sandbox, prints its output and the limits it hit.

import { mkdtempSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { parseMemorySize } from '../../provider/model-manager.ts';
import { openSandbox } from '../../sandbox/open.ts';
import { SANDBOX_LANGUAGES, type SandboxLanguage, type SandboxLimits, type SandboxResult } from '../../sandbox/types.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth exec --lang python|node|bash FILE|- [options] [-- ARG…]

Runs one program in the sandbox (bubblewrap: no network, no host files, an unprivileged uid, rlimits) and prints
its output, then the limits it hit on stderr. Exits with the program's status (128 + signal when killed).

  --lang L            python, node or bash
  --workspace DIR     the folder mounted writable at /workspace (default: a fresh empty folder, removed afterwards)
  --timeout MS        wall-clock limit (default 10000)
  --cpu S             CPU seconds per process (default 10)
  --memory SIZE       address space per process, such as 512MiB (default 2GiB)
  --processes N       processes and threads (default 64)
  --file-size SIZE    largest file written (default 64MiB)
  --disk SIZE         how much the workspace may grow (default 256MiB)
  --output SIZE       stdout and stderr kept, each (default 1MiB)
  --json              print the whole result as JSON instead
`;

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new HearthError('invalid_argument', `--${name} must be a positive integer; got "${v}"`);
  return n;
}

export function describeLimits(r: SandboxResult): string {
  if (!r.limits.length) return 'none';
  return r.limits.map((h) => `${h.limit}=${h.value} (${h.how}: ${h.detail})`).join('; ');
}

export const command: Command = {
  summary: 'run a program in the sandbox',
  async run(argv) {
    const { values: v, positionals } = parse(argv, {
      lang: { type: 'string' }, workspace: { type: 'string' }, timeout: { type: 'string' }, cpu: { type: 'string' },
      memory: { type: 'string' }, processes: { type: 'string' }, 'file-size': { type: 'string' }, disk: { type: 'string' },
      output: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const lang = v.lang as SandboxLanguage | undefined;
    if (!lang || !SANDBOX_LANGUAGES.includes(lang)) throw new HearthError('invalid_argument', `--lang must be one of ${SANDBOX_LANGUAGES.join(', ')}`);
    const [file, ...args] = positionals;
    if (!file) throw new HearthError('invalid_argument', 'name the program: a FILE, or - for standard input');
    const code = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    const size = (s: string | undefined, name: string) => (s === undefined ? undefined : parseMemorySize(s, `--${name}`));
    const limits: Partial<Record<keyof SandboxLimits, number | undefined>> = {
      wallMs: int(v.timeout, 'timeout'), cpuSeconds: int(v.cpu, 'cpu'), processes: int(v.processes, 'processes'),
      memoryBytes: size(v.memory, 'memory'), fileBytes: size(v['file-size'], 'file-size'), diskBytes: size(v.disk, 'disk'),
      outputBytes: size(v.output, 'output'),
    };
    for (const k of Object.keys(limits) as (keyof SandboxLimits)[]) if (limits[k] === undefined) delete limits[k];

    const sandbox = await openSandbox();
    const own = v.workspace === undefined;
    const workspace = v.workspace ?? mkdtempSync(join(tmpdir(), 'hearth-exec-'));
    if (own) chmodSync(workspace, 0o711);
    try {
      const r = await sandbox.run({ language: lang, code, workspace, args, limits: limits as Partial<SandboxLimits> });
      if (v.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
      } else {
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
        const end = r.exitCode !== null ? `exit ${r.exitCode}` : `killed by ${r.signal}`;
        process.stderr.write(`hearth exec: ${end} after ${Math.round(r.durationMs)} ms; limits hit: ${describeLimits(r)}\n`);
      }
      return r.exitCode ?? 128 + (osConstants.signals[r.signal as keyof typeof osConstants.signals] ?? 9);
    } finally {
      if (own) rmSync(workspace, { recursive: true, force: true });
    }
  },
};
