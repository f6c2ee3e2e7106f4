// Positions beyond 4 GiB: a sparse file (almost no disk used) with a 5 GiB tensor followed by a small one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHearthError } from '../util/errors.ts';
import { sharedPath } from '../../test/shared.ts';
import { FileSource } from './byte-source.ts';
import { openGGUF, GGMLType } from './index.ts';

const GiB = 2 ** 30;

/** Header with tensors "big" ([5 GiB] I8 at 0) and "tail" ([16] F32 right after), encoded by hand. */
function header(): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number) => out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const u64 = (v: number) => { u32(v % 2 ** 32); u32(Math.floor(v / 2 ** 32)); };
  const str = (s: string) => { u64(s.length); for (const ch of s) out.push(ch.charCodeAt(0)); };
  out.push(0x47, 0x47, 0x55, 0x46);
  u32(3); u64(2); u64(0);
  str('big'); u32(1); u64(5 * GiB); u32(GGMLType.I8); u64(0);
  str('tail'); u32(1); u64(16); u32(GGMLType.F32); u64(5 * GiB);
  while (out.length % 32) out.push(0);
  return new Uint8Array(out);
}

test('tensor offsets and sizes beyond 4 GiB are exact', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-gguf-large-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'sparse.gguf');
  const h = header();
  const tail = new Float32Array(16).map((_, i) => i + 0.5);
  const fd = openSync(path, 'w');
  writeSync(fd, h);
  ftruncateSync(fd, h.length + 5 * GiB + 64);
  writeSync(fd, new Uint8Array(tail.buffer), 0, 64, h.length + 5 * GiB);
  closeSync(fd);

  const f = openGGUF(path);
  try {
    assert.equal(f.dataOffset, h.length);
    const big = f.tensor('big');
    assert.equal(big.byteSize, 5 * GiB);
    assert.equal(big.nElements, 5 * GiB);
    const tailInfo = f.tensor('tail');
    assert.equal(tailInfo.offset, h.length + 5 * GiB);
    assert.deepEqual(new Float32Array(f.readTensor(tailInfo).buffer), tail);
    const part = new Uint8Array(4096).fill(1);
    f.readAt(big.offset + 4.5 * GiB, part); // a slice of a tensor, past 2^32
    assert.ok(part.every((b) => b === 0));
    assert.throws(() => f.readTensorInto(big, part), (e) => isHearthError(e, 'invalid_argument'));
    assert.throws(() => f.readAt(f.size - 10, part), (e) => isHearthError(e, 'invalid_argument'));
  } finally {
    f.close();
  }
});

test('one read larger than the chunk limit is split into several positioned reads', () => {
  const path = sharedPath('models', 'stories260K.gguf');
  const src = new FileSource(path, 1000); // the real limit is 1 GiB; 1000 makes the loop run ~1000 times
  try {
    const all = new Uint8Array(src.size - 7);
    src.readInto(7, all);
    assert.deepEqual(all, new Uint8Array(readFileSync(path).subarray(7)));
  } finally {
    src.close();
  }
});
