// The wasm kernels' type ids and block sizes come from the one type table: the constants scripts/build.js
// generates into assembly/types.generated.ts equal src/gguf/ggml-types.ts, and the kernel dispatch names
// them instead of writing numeric ids.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TYPE_LAYOUTS } from '../../gguf/ggml-types.ts';

const dir = new URL('./assembly/', import.meta.url);

function generatedConstants(): Map<string, number> {
  const src = readFileSync(new URL('types.generated.ts', dir), 'utf8');
  const out = new Map<string, number>();
  for (const m of src.matchAll(/^export const (\w+): (?:i32|usize) = (\d+);$/gm)) out.set(m[1], Number(m[2]));
  return out;
}

test('types.generated.ts holds exactly the type table: id, elements and bytes per block of every type', () => {
  const want = new Map<string, number>();
  for (const t of TYPE_LAYOUTS) {
    want.set(`TYPE_${t.name}`, t.id);
    want.set(`BLOCK_${t.name}`, t.blockSize);
    want.set(`BYTES_${t.name}`, t.typeSize);
    if (t.blockSize > 1) want.set(`LOG2_BLOCK_${t.name}`, Math.log2(t.blockSize));
  }
  assert.deepEqual(new Map([...generatedConstants()].sort()), new Map([...want].sort()),
    'stale: run `node scripts/build.js` to regenerate src/kernels/wasm/assembly/types.generated.ts');
});

test('the matmul dispatch and the kernels name type ids and block bytes from the generated table', () => {
  const index = readFileSync(new URL('index.ts', dir), 'utf8');
  assert.doesNotMatch(index, /case \d+:/);
  for (const f of ['matmul-q32.ts', 'matmul-k.ts', 'matmul-k-low.ts']) {
    const src = readFileSync(new URL(f, dir), 'utf8');
    const body = /function blockBytes[^{]*\{([^}]*)\}/.exec(src)?.[1] ?? '';
    assert.match(body, /BYTES_/, f);
    assert.doesNotMatch(body, /\b\d+\b/, `${f}: blockBytes writes a size by hand`);
  }
});
