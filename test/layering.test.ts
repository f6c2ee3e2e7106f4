// The dependency rules of the system map: nothing under the engine imports the provider, server, API or store layers,
// and the library entry exposes only explicit named re-exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { REPO_ROOT } from './shared.ts';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const LOWER = ['gguf', 'quant', 'kernels', 'model', 'engine', 'tokenizer', 'util'];
const UPPER = ['api', 'provider', 'server', 'store', 'cli'];

test('engine and below never import api, provider, server, store or cli', () => {
  const bad: string[] = [];
  for (const layer of LOWER) {
    for (const f of files(join(REPO_ROOT, 'src', layer))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(join(REPO_ROOT, 'src'), join(f, '..', m[1])).split(sep)[0];
        if (UPPER.includes(target)) bad.push(`${relative(REPO_ROOT, f)} imports ${m[1]}`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test('src/index.ts has only explicit named re-exports', () => {
  const src = readFileSync(join(REPO_ROOT, 'src', 'index.ts'), 'utf8');
  assert.doesNotMatch(src, /export \* from/);
  for (const line of src.split('\n')) {
    if (/^\s*(import|const|let|function|class)\b/.test(line)) assert.fail(`index.ts defines or imports directly: ${line}`);
  }
});

test('every error code is documented', async () => {
  const { ERROR_CODES } = await import('../src/util/errors.ts');
  for (const [code, doc] of Object.entries(ERROR_CODES)) assert.ok(doc.length > 10, code);
});
