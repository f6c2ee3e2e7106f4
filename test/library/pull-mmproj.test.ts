// A vision model pulled from a Hugging Face repo that ships mmproj files (a loopback server speaking the Hub's tree
// and resolve protocol, serving a synthetic language model and synthetic mmproj files): pull fetches the encoder
// beside the model as NAME.mmproj.gguf (the one of the model's quant when there is one, else F16), the library lists
// the model and not the encoders, a server over the library loads the model with its encoder (the card says vision;
// /api/v1/analyze and /api/v1/models work), and removing the model removes its encoder.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { pull } from '../../src/library/pull.ts';
import { Library } from '../../src/library/library.ts';
import { mmprojBeside } from '../../src/library/mmproj.ts';
import { ModelManager } from '../../src/provider/model-manager.ts';
import { localModelLoader } from '../../src/provider/local-provider.ts';
import { createApp } from '../../src/server/app.ts';
import { openStore } from '../../src/store/store.ts';
import { syntheticModelPath } from '../fixtures/synthetic-model.ts';
import { syntheticMmprojPath } from '../fixtures/synthetic-mmproj.ts';

const LM = { nEmbd: 128, nLayer: 2, nHead: 4, nHeadKv: 4, nFF: 256 } as const;
const MODEL = readFileSync(syntheticModelPath(LM));
const F16 = readFileSync(syntheticMmprojPath({ nEmbdOut: LM.nEmbd }));
// another encoder of the same shape (other weights), standing in for the repo's Q8_0 one
const Q8 = readFileSync(syntheticMmprojPath({ nEmbdOut: LM.nEmbd, seed: 11 }));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FILES: Record<string, Buffer> = {
  'llava-Q4_K_M.gguf': MODEL, 'llava-Q8_0.gguf': MODEL, 'mmproj-llava-f16.gguf': F16, 'mmproj-llava-Q8_0.gguf': Q8,
};
let hub: Server;
let env: NodeJS.ProcessEnv;
const home = mkdtempSync(join(tmpdir(), 'hearth-mmproj-'));
const models = join(home, 'models');

before(async () => {
  hub = createServer((req, res) => {
    const url = req.url!;
    if (/^\/api\/models\/acme\/llava-GGUF\/tree\/main/.test(url)) {
      const list = Object.entries(FILES).map(([path, b]) => ({ type: 'file', oid: 'x', size: b.length, path, lfs: { oid: sha(b), size: b.length, pointerSize: 135 } }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(list));
      return;
    }
    const m = url.match(/^\/acme\/llava-GGUF\/resolve\/main\/(.+)$/);
    const b = m && FILES[decodeURIComponent(m[1]!)];
    if (!b) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-length': b.length }).end(b);
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  env = { HF_ENDPOINT: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`, HEARTH_MODELS: models, HEARTH_DB: join(home, 'hearth.db') };
});
after(() => {
  hub.close();
  rmSync(home, { recursive: true, force: true });
});

test('pull fetches the repo\'s encoder beside the model: the quant\'s own, else F16', async () => {
  const events: string[] = [];
  const q4 = await pull('hf.co/acme/llava-GGUF:Q4_K_M', { env, onProgress: (p) => events.push(p.status) });
  assert.equal(q4.path, join(models, 'llava-Q4_K_M.gguf'));
  assert.equal(q4.mmproj, join(models, 'llava-Q4_K_M.mmproj.gguf'));
  assert.equal(sha(readFileSync(q4.mmproj!)), sha(F16));
  assert.equal(events.filter((e) => e === 'success').length, 1);
  assert.equal(events.at(-1), 'success');
  const q8 = await pull('hf.co/acme/llava-GGUF:Q8_0', { env });
  assert.equal(sha(readFileSync(q8.mmproj!)), sha(Q8));
  // a file of the repo named directly is pulled with the encoder too; the encoder itself alone
  const named = await pull('hf.co/acme/llava-GGUF/llava-Q8_0.gguf', { env, name: 'named' });
  assert.equal(named.mmproj, join(models, 'named.mmproj.gguf'));
  const alone = await pull('hf.co/acme/llava-GGUF/mmproj-llava-f16.gguf', { env, name: 'encoder-only' });
  assert.equal(alone.mmproj, undefined);
  rmSync(alone.path);
});

test('the library lists the models, not their encoders; a server over it loads each with its encoder', async () => {
  const library = Library.open(env);
  const store = openStore(env.HEARTH_DB);
  try {
    const names = library.list().map((m) => m.name);
    assert.deepEqual(names.sort(), ['llava-Q4_K_M', 'llava-Q8_0', 'named']);
    const manager = new ModelManager({ source: library, load: localModelLoader({ load: { nCtx: 256 }, scheduler: { parallel: 1, queueLimit: 8 } }), keepAliveMs: -1 });
    const app = createApp({ models: manager, batches: store.batches, ui: false });
    try {
      const before = (await app.inject({ method: 'GET', url: '/api/v1/models' })).json() as { models: { id: string; loaded: boolean }[] };
      assert.deepEqual(before.models, ['llava-Q4_K_M', 'llava-Q8_0', 'named'].map((id) => ({ id, provider: 'local', loaded: false })));
      const show = await app.inject({ method: 'POST', url: '/api/show', payload: { model: 'llava-Q4_K_M' } });
      assert.ok((show.json() as { capabilities: string[] }).capabilities.includes('vision'), show.body);
      const px = Buffer.alloc(32 * 32 * 3, 90);
      const image = (await sharp(px, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer()).toString('base64');
      const r = await app.inject({ method: 'POST', url: '/api/v1/analyze', payload: { image, model: 'llava-Q4_K_M', max_tokens: 3, temperature: 0 } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal((r.json() as { usage: { output_tokens: number } }).usage.output_tokens, 3);
      const listed = (await app.inject({ method: 'GET', url: '/api/v1/models' })).json() as { models: { id: string; loaded: boolean }[] };
      assert.deepEqual(listed.models.map((m) => [m.id, m.loaded]), [['llava-Q4_K_M', true], ['llava-Q8_0', false], ['named', false]]);
    } finally {
      await app.close();
    }
    // removing a model removes its encoder
    const { deleted } = library.remove('llava-Q8_0');
    assert.ok(deleted.includes(join(models, 'llava-Q8_0.mmproj.gguf')), JSON.stringify(deleted));
    assert.ok(!existsSync(join(models, 'llava-Q8_0.mmproj.gguf')));
  } finally {
    store.close();
    library.close();
  }
});

test('mmprojBeside: NAME.mmproj.gguf, or the one mmproj*.gguf of a one-model folder', () => {
  const dir = join(home, 'folder');
  mkdirSync(dir);
  copyFileSync(syntheticModelPath(LM), join(dir, 'model-Q4_K_M.gguf'));
  assert.equal(mmprojBeside(join(dir, 'model-Q4_K_M.gguf')), undefined);
  copyFileSync(syntheticMmprojPath({ nEmbdOut: LM.nEmbd }), join(dir, 'mmproj-model-f16.gguf'));
  assert.equal(mmprojBeside(join(dir, 'model-Q4_K_M.gguf')), join(dir, 'mmproj-model-f16.gguf'));
  // a second model in the folder: which encoder goes with which is not known
  copyFileSync(syntheticModelPath(LM), join(dir, 'other.gguf'));
  assert.equal(mmprojBeside(join(dir, 'model-Q4_K_M.gguf')), undefined);
  copyFileSync(syntheticMmprojPath({ nEmbdOut: LM.nEmbd }), join(dir, 'model-Q4_K_M.mmproj.gguf'));
  assert.equal(mmprojBeside(join(dir, 'model-Q4_K_M.gguf')), join(dir, 'model-Q4_K_M.mmproj.gguf'));
});
