// hearth assess --lang python|node|bash FILE|- : the program's risk level and the findings that set it.

import { readFileSync } from 'node:fs';
import { parse } from '../args.ts';
import { HearthError } from '../../util/errors.ts';
import { assess } from '../../assess/assess.ts';
import type { AssessLanguage } from '../../assess/types.ts';
import type { Command } from '../main.ts';

const HELP = `Usage: hearth assess --lang python|node|bash FILE|- [--json]

Rates a program's risk from its syntax tree (tree-sitter), before anything runs: LOW, MEDIUM, HIGH or BLOCKED, with
each finding (rule, level, reason, line). Exit status: 0 LOW, 1 an error, 2 MEDIUM, 3 HIGH, 4 BLOCKED.
`;

const ALIASES: Record<string, AssessLanguage> = {
  python: 'python', py: 'python', node: 'node', js: 'node', javascript: 'node', bash: 'bash', sh: 'bash', shell: 'bash',
};
const EXIT = { LOW: 0, MEDIUM: 2, HIGH: 3, BLOCKED: 4 } as const;

export const command: Command = {
  summary: "rate a program's risk",
  async run(argv) {
    const { values: v, positionals } = parse(argv, { lang: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
    if (v.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const lang = ALIASES[v.lang ?? ''];
    if (!lang) throw new HearthError('invalid_argument', '--lang must be python, node (js) or bash (sh)');
    const file = positionals[0];
    if (!file) throw new HearthError('invalid_argument', 'name the program: a FILE, or - for standard input');
    const code = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
    const a = await assess(lang, code);
    if (v.json) process.stdout.write(JSON.stringify(a) + '\n');
    else {
      process.stdout.write(`${a.level}\n`);
      for (const f of a.findings) process.stdout.write(`  ${f.level.padEnd(7)} ${String(f.line).padStart(4)}:${String(f.column).padEnd(3)} ${f.rule.padEnd(22)} ${f.reason}\n`);
    }
    return EXIT[a.level];
  },
};
