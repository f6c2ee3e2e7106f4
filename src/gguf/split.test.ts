// Split GGUF naming (llama_split_path / llama_split_prefix) and openGGUFModel over tiny parts of one tensor each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GGMLType } from './ggml-types.ts';
import { GGUFMetadata } from './metadata.ts';
import { openGGUFModel, parseSplitName, splitPartName, splitPartNames } from './split.ts';
import { writeGGUF } from './writer.ts';
import { isHearthError } from '../util/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'hearth-split-unit-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('part names are PREFIX-%05d-of-%05d.gguf, 1-based, and parse back', () => {
  assert.equal(splitPartName('m', 0, 3), 'm-00001-of-00003.gguf');
  assert.equal(splitPartName('m', 11, 12), 'm-00012-of-00012.gguf');
  assert.deepEqual(parseSplitName('Qwen-Q4_K_M-00002-of-00003.gguf'), { prefix: 'Qwen-Q4_K_M', no: 1, count: 3 });
  assert.equal(parseSplitName('m.gguf'), undefined);
  assert.equal(parseSplitName('m-0001-of-0003.gguf'), undefined);
  assert.deepEqual(splitPartNames('m-00002-of-00002.gguf'), ['m-00001-of-00002.gguf', 'm-00002-of-00002.gguf']);
});

/** A part holding one f32 tensor per name, with the split keys given. */
function part(prefix: string, no: number, count: number, names: string[], total: number): string {
  const md = new GGUFMetadata();
  if (no === 0) md.string('general.architecture', 'llama');
  md.u16('split.no', no).u16('split.count', count).i32('split.tensors.count', total);
  const path = join(dir, splitPartName(prefix, no, count));
  writeGGUF(path, { metadata: md, tensors: names.map((name, i) => ({ name, shape: [4], type: GGMLType.F32, data: new Uint8Array(new Float32Array(4).fill(no * 10 + i).buffer) })) });
  return path;
}

test('every part\'s tensors, in part order, each read from its own file; metadata from the first', () => {
  const first = part('ok', 0, 2, ['a', 'b'], 3);
  part('ok', 1, 2, ['c'], 3);
  const m = openGGUFModel(first);
  try {
    assert.deepEqual(m.tensors.map((t) => t.name), ['a', 'b', 'c']);
    assert.equal(m.parts.length, 2);
    assert.equal(m.metadata.getString('general.architecture'), 'llama');
    const dst = new Uint8Array(16);
    m.readTensorInto(m.tensor('c'), dst);
    assert.deepEqual([...new Float32Array(dst.buffer)], [10, 10, 10, 10]);
    m.readTensorInto(m.tensor('b'), dst);
    assert.deepEqual([...new Float32Array(dst.buffer)], [1, 1, 1, 1]);
    assert.throws(() => m.tensor('d'), (e) => isHearthError(e, 'model_invalid') && /"d" is missing \(from all 2 parts\)/.test(e.message));
  } finally {
    m.close();
  }
});

test('a tensor in two parts is model_invalid, naming both', () => {
  const first = part('dup', 0, 2, ['a', 'b'], 3);
  const second = part('dup', 1, 2, ['b'], 3);
  assert.throws(() => openGGUFModel(first), (e) => isHearthError(e, 'model_invalid') && e.message.startsWith(second) && e.message.includes(first));
});

test('a file without split.count is one part, whatever its name', () => {
  const path = join(dir, 'plain-00001-of-00002.gguf');
  writeGGUF(path, { metadata: new GGUFMetadata().string('general.architecture', 'llama'), tensors: [] });
  const m = openGGUFModel(path);
  assert.equal(m.parts.length, 1);
  m.close();
});
