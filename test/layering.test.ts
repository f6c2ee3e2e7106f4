// The dependency rules of the system map, checked over every import in src/ (type-only imports count too):
//   1. A total order of layers: a file imports only from its own layer or a lower one, never upwards.
//   2. The engine's interface types live in their layer's types.ts (or index.ts), not in one implementation.
//   3. The library entry (src/index.ts) has only explicit named re-exports.
// Tests that run whole models live in test/, outside these rules; there are no exceptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { REPO_ROOT } from './shared.ts';

/**
 * Rank of each top-level folder of src/. Lower ranks never import higher ones; folders of one rank import each other
 * only along SIDEWAYS. The ranks above the engine follow what the code does today:
 *   api (wire types, pure converters) and store (SQLite) sit beside each other and use only the engine's types;
 *   library (pulling models into the models folder) sits beside them, and so do sandbox (running code in bubblewrap)
 *   and assess (rating code's risk from its syntax tree), which need only util;
 *   provider (ModelManager, LocalProvider) speaks api's native types to the engine;
 *   knowledge (files, vector stores, ingest, search) sits beside it, on the store, reaching models through its own Embedder;
 *   agent (the assistant's loop: tools, review, approvals, git commits) runs models through providers, code through the
 *   sandbox, rates it with assess and records it in the store; the server's routes and the CLI start its tasks;
 *   server routes requests to providers and reads keys and usage from the store;
 *   cli is the composition root, and src/index.ts, the library entry, re-exports from anywhere.
 */
const RANK: Record<string, number> = {
  util: 0,
  gguf: 1,
  quant: 2,
  kernels: 3,
  model: 4,
  engine: 5, tokenizer: 5, chat: 5,
  api: 6, store: 6, library: 6, sandbox: 6, assess: 6,
  provider: 7, knowledge: 7,
  agent: 8,
  server: 9,
  cli: 10,
  'index.ts': 11,
};

/**
 * Imports allowed between folders of one rank: the engine and the chat templates use the tokenizer's types (a
 * sequence decodes tokens; a rendered prompt is tokenized), and the library keeps its catalog in the store. The tokenizer imports neither, and engine and chat
 * stay apart (the engine speaks tokens, chat speaks messages).
 */
const SIDEWAYS = new Set(['engine -> tokenizer', 'chat -> tokenizer',
  // The library keeps its catalog of names, presets and digests in the store's SQLite file.
  'library -> store']);

/** Layers whose interface types must be imported from the layer's types.ts (or an index.ts) by the engine stack. */
const INTERFACE_LAYERS = new Set(['kernels', 'model', 'engine', 'tokenizer', 'chat']);


const SRC = join(REPO_ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

interface Import {
  /** Paths relative to src/, with forward slashes. */
  readonly from: string;
  readonly to: string;
  readonly typeOnly: boolean;
}

/**
 * Every relative import in the source of src/`from`: static imports and re-exports, side-effect imports, and
 * import('…') in code or in types. Targets outside src/ (test helpers) are left out.
 */
function importsIn(source: string, from: string): Import[] {
  const src = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  const out: Import[] = [];
  const add = (spec: string, typeOnly: boolean): void => {
    const to = relative(SRC, join(SRC, from, '..', spec)).split(sep).join('/');
    if (!to.startsWith('..')) out.push({ from, to, typeOnly });
  };
  for (const m of src.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*'(\.[^']*)'/g)) {
    const names = m[3].trim();
    // `import type …`, or braces in which every name is marked `type`
    const allTyped = /^\{[^}]*\}$/.test(names) && names.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean)
      .every((s) => s.startsWith('type '));
    add(m[4], m[2] !== undefined || allTyped);
  }
  for (const m of src.matchAll(/\bimport\s*'(\.[^']*)'/g)) add(m[1], false);
  for (const m of src.matchAll(/\bimport\s*\(\s*'(\.[^']*)'\s*\)/g)) add(m[1], false);
  return out;
}

function layerOf(path: string): string {
  const top = path.split('/')[0];
  if (!(top in RANK)) throw new Error(`src/${path}: folder ${top} has no rank in test/layering.test.ts`);
  return top;
}

function violations(): string[] {
  const found = new Set<string>();
  for (const file of files(SRC)) {
    for (const imp of importsIn(readFileSync(file, 'utf8'), relative(SRC, file).split(sep).join('/'))) {
      const a = layerOf(imp.from);
      const b = layerOf(imp.to);
      if (a === b) continue;
      const edge = `${imp.from} -> ${imp.to}`;
      if (RANK[b] > RANK[a] || (RANK[b] === RANK[a] && !SIDEWAYS.has(`${a} -> ${b}`))) found.add(edge);
      const name = imp.to.split('/').at(-1);
      if (imp.typeOnly && RANK[a] <= RANK.engine && INTERFACE_LAYERS.has(b) && name !== 'types.ts' && name !== 'index.ts') {
        found.add(edge);
      }
    }
  }
  return [...found].sort();
}

test('imports follow the layer order, and the engine stack takes interface types from types.ts', () => {
  const found = violations();
  assert.deepEqual(found, [], `imports that run back up the layers (or take an interface type from an implementation):\n  ${found.join('\n  ')}`);
});

test('the import scan sees every form of import, and which are type-only', () => {
  const forms: [string, boolean][] = [
    ["import { a } from '../model/x.ts';", false],
    ["import { a, type B } from '../model/x.ts';", false],
    ["import type { A } from '../model/x.ts';", true],
    ["import { type A, type B } from '../model/x.ts';", true],
    ["import * as x from '../model/x.ts';", false],
    ["export { a } from '../model/x.ts';", false],
    ["export type { A } from '../model/x.ts';", true],
    ["import '../model/x.ts';", false],
    ["const m = await import('../model/x.ts');", false],
    ["type T = import('../model/x.ts').A;", false],
    ["import {\n  a,\n  b,\n} from '../model/x.ts';", false],
  ];
  for (const [src, typeOnly] of forms) {
    assert.deepEqual(importsIn(src, 'quant/probe.ts'), [{ from: 'quant/probe.ts', to: 'model/x.ts', typeOnly }], src);
  }
  assert.deepEqual(importsIn("// import { a } from '../model/x.ts';\n/* import '../model/y.ts' */", 'quant/p.ts'), []);
});

test('src/index.ts has only explicit named re-exports', () => {
  const src = readFileSync(join(SRC, 'index.ts'), 'utf8');
  assert.doesNotMatch(src, /export \* from/);
  for (const line of src.split('\n')) {
    if (/^\s*(import|const|let|function|class)\b/.test(line)) assert.fail(`index.ts defines or imports directly: ${line}`);
  }
});

test('every error code is documented', async () => {
  const { ERROR_CODES } = await import('../src/util/errors.ts');
  for (const [code, doc] of Object.entries(ERROR_CODES)) assert.ok(doc.length > 10, code);
});
