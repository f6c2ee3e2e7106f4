import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { resolveModelPath, modelNameFromPath } from './resolve.ts';
import { isHearthError } from '../util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-models-'));
writeFileSync(join(dir, 'tiny.gguf'), 'x');

test('a name is found as NAME.gguf in HEARTH_MODELS', () => {
  assert.equal(resolveModelPath('tiny', { HEARTH_MODELS: dir }), join(dir, 'tiny.gguf'));
  assert.equal(resolveModelPath('tiny.gguf', { HEARTH_MODELS: dir }), join(dir, 'tiny.gguf'));
});

test('a split model is found by its name as its first part, NAME-00001-of-0000N.gguf', () => {
  writeFileSync(join(dir, 'big-00002-of-00002.gguf'), 'x');
  writeFileSync(join(dir, 'big-00001-of-00002.gguf'), 'x');
  assert.equal(resolveModelPath('big', { HEARTH_MODELS: dir }), join(dir, 'big-00001-of-00002.gguf'));
  assert.equal(resolveModelPath('big.gguf', { HEARTH_MODELS: dir }), join(dir, 'big-00001-of-00002.gguf'));
  assert.throws(() => resolveModelPath('bi', { HEARTH_MODELS: dir }), (e) => isHearthError(e, 'not_found'));
});

test('HEARTH_MODEL is the default model', () => {
  assert.equal(resolveModelPath(undefined, { HEARTH_MODELS: dir, HEARTH_MODEL: 'tiny' }), join(dir, 'tiny.gguf'));
  assert.throws(() => resolveModelPath(undefined, {}), (e) => isHearthError(e, 'invalid_argument'));
});

test('names cannot reach outside the models folder', () => {
  for (const bad of ['../tiny', '..', 'a/../../etc/passwd', '.hidden']) {
    assert.throws(() => resolveModelPath(bad, { HEARTH_MODELS: dir }), (e) => isHearthError(e, 'not_found'), bad);
  }
});

test('an unknown name says where it looked', () => {
  assert.throws(() => resolveModelPath('nope', { HEARTH_MODELS: dir }), /nope\.gguf/);
});

test('model names drop the .gguf extension', () => {
  assert.equal(modelNameFromPath('/x/stories260K.gguf'), 'stories260K');
});
