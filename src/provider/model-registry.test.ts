import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelRegistry } from './model-registry.ts';
import type { Provider } from './types.ts';
import type { ModelCard } from '../api/native.ts';
import { isHearthError } from '../util/errors.ts';

function fake(id: string, fileName = id): Provider {
  const card = { id, fileName } as ModelCard;
  let closed = false;
  return {
    card,
    generate: () => Promise.reject(new Error('not used')),
    embed: () => Promise.reject(new Error('not used')),
    countTokens: async () => 0,
    close: () => { closed = true; },
    get loadMs() { return closed ? -1 : 1; },
  };
}

test('several models: each name resolves to its own provider; aliases, file names and :latest compare as one', async () => {
  const models = new ModelRegistry();
  const a = models.add(() => fake('alpha', 'alpha-q8'));
  const b = models.add(async () => fake('beta'));
  assert.equal(models.state, 'loading');
  assert.throws(() => models.resolve('alpha'), (e) => isHearthError(e, 'unavailable') && /still loading/.test(e.message));
  await Promise.all([a.start(), b.start()]);
  assert.equal(models.state, 'ready');
  assert.equal(models.resolve('alpha').card.id, 'alpha');
  assert.equal(models.resolve('alpha-q8:latest').card.id, 'alpha');
  assert.equal(models.resolve('beta').card.id, 'beta');
  assert.equal(models.find('beta:latest')?.id, 'beta');
  assert.equal(models.find('gamma'), undefined);
  assert.deepEqual(models.loaded().map((p) => p.card.id), ['alpha', 'beta']);
  assert.throws(() => models.resolve('gamma'), (e) => isHearthError(e, 'not_found') && /serves "alpha", "beta"/.test(e.message));
});

test('a model still loading or failed answers unavailable for names not yet known; the loaded ones still resolve', async () => {
  const models = new ModelRegistry();
  await models.add(() => fake('alpha')).start();
  let release: (p: Provider) => void = () => {};
  const slow = models.add(() => new Promise<Provider>((r) => (release = r)));
  const started = slow.start();
  await new Promise((r) => setImmediate(r));
  assert.equal(models.resolve('alpha').card.id, 'alpha');
  assert.throws(() => models.resolve('beta'), (e) => isHearthError(e, 'unavailable'));
  release(fake('beta'));
  await started;
  assert.equal(models.resolve('beta').card.id, 'beta');
  const broken = models.add(() => { throw new Error('disk on fire'); });
  await assert.rejects(broken.start(), /disk on fire/);
  assert.equal(models.state, 'failed');
  assert.equal(models.failure?.message, 'disk on fire');
  assert.throws(() => models.resolve('delta'), (e) => isHearthError(e, 'unavailable') && /failed to load: disk on fire/.test(e.message));
});

test('close closes every loaded provider', async () => {
  const models = new ModelRegistry();
  const p = await models.add(() => fake('alpha')).start();
  models.close();
  assert.equal(p.loadMs, -1);
});
