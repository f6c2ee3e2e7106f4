// Hyper-parameters that pass the reader but cannot run: each is a typed model_invalid at load naming its key and
// value; `hearth run` prints that one line, no stack trace; a served model that fails to load keeps /health unhealthy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.ts';
import { STORIES, startServer } from './server/harness.ts';
import { openGGUF, writeGGUF, GGUFMetadata } from '../src/gguf/index.ts';
import { checkOneToken, loadModel } from '../src/engine/load.ts';
import { HearthError } from '../src/util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-hparams-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** stories260K with `edit` applied to its metadata (and `nanTensor`'s data replaced by NaN), written to `name`. */
function variant(name: string, edit: (m: GGUFMetadata) => GGUFMetadata, nanTensor?: string): string {
  const src = openGGUF(STORIES);
  try {
    const path = join(dir, `${name}.gguf`);
    writeGGUF(path, {
      metadata: edit(GGUFMetadata.from(src.metadata)),
      tensors: src.tensors.map((t) => ({
        name: t.name, shape: t.shape, type: t.type,
        data: () => (t.name === nanTensor ? new Uint8Array(new Float32Array(t.nElements).fill(NaN).buffer) : src.readTensor(t)),
      })),
    });
    return path;
  } finally {
    src.close();
  }
}

const CASES: { name: string; edit: (m: GGUFMetadata) => GGUFMetadata; key: RegExp }[] = [
  { name: 'rope-neg', edit: (m) => m.i32('llama.rope.dimension_count', -2), key: /llama\.rope\.dimension_count = -2 must be a positive even integer/ },
  { name: 'rope-odd', edit: (m) => m.u32('llama.rope.dimension_count', 3), key: /llama\.rope\.dimension_count = 3/ },
  { name: 'freq-base', edit: (m) => m.f32('llama.rope.freq_base', -1), key: /llama\.rope\.freq_base = -1 must be a positive finite number/ },
  { name: 'eps-zero', edit: (m) => m.f32('llama.attention.layer_norm_rms_epsilon', 0), key: /epsilon = 0 must be in \(0, 1\)/ },
  { name: 'ctx-zero', edit: (m) => m.u32('llama.context_length', 0), key: /llama\.context_length = 0 must be a positive integer/ },
  { name: 'heads', edit: (m) => m.u32('llama.attention.head_count', 7), key: /head/ },
];

test('each bad hyper-parameter is model_invalid at load, naming key and value', () => {
  for (const c of CASES) {
    const path = variant(c.name, c.edit);
    assert.throws(() => loadModel(path, { backend: 'ref' }), (e) => {
      assert.ok(e instanceof HearthError, `${c.name}: ${String(e)}`);
      assert.equal(e.code, 'model_invalid', `${c.name}: ${e.message}`);
      assert.match(e.message, c.key, c.name);
      return true;
    });
  }
});

test('weights that load but give no finite logits fail the one-token check with model_invalid', () => {
  const path = variant('nan-norm', (m) => m, 'output_norm.weight');
  const model = loadModel(path, { backend: 'ref' });
  try {
    assert.throws(() => checkOneToken(model), (e) => e instanceof HearthError && e.code === 'model_invalid' && /cannot run one token/.test(e.message));
  } finally {
    model.dispose();
  }
  const good = loadModel(STORIES, { backend: 'ref' });
  try {
    checkOneToken(good);
  } finally {
    good.dispose();
  }
});

test('hearth run on a bad file prints one error line and no stack trace', () => {
  const path = variant('rope-neg-cli', (m) => m.i32('llama.rope.dimension_count', -2));
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'hearth.js'), 'run', path, '--prompt', 'Once', '-n', '2'], { encoding: 'utf8', timeout: 60_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /rope\.dimension_count = -2/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, r.stderr);
  assert.doesNotMatch(r.stderr, /RangeError/);
});

test('a served model that cannot run does not report healthy', async () => {
  for (const path of [variant('rope-neg-serve', (m) => m.i32('llama.rope.dimension_count', -2)), variant('nan-serve', (m) => m, 'output_norm.weight')]) {
    const srv = await startServer({ path, ready: false });
    try {
      const t0 = Date.now();
      let health = await fetch(srv.base + '/health');
      while (health.status === 503 && srv.host.state === 'loading' && Date.now() - t0 < 20_000) {
        await new Promise((r) => setTimeout(r, 50));
        health = await fetch(srv.base + '/health');
      }
      assert.notEqual(health.status, 200, `${path}: ${await health.text()}`);
      const r = await fetch(srv.base + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'x', prompt: 'hi' }) });
      assert.notEqual(r.status, 200);
    } finally {
      await srv.close();
    }
  }
});
