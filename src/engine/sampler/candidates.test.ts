import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Candidates } from './candidates.ts';

test('a full sort of a large set (radix) equals a comparison sort: descending logit, lower position first on ties', () => {
  for (const n of [4095, 4096, 20000, 152064]) {
    const logits = new Float32Array(n);
    let s = n;
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const r = s >>> 8;
      // few distinct values (many ties), negatives, both zeros, -Infinity and large magnitudes
      logits[i] = r % 17 === 0 ? -Infinity : r % 13 === 0 ? -0 : r % 11 === 0 ? 0 : r % 7 === 0 ? (r % 1000) * 1e6 : ((r % 64) - 32) / 4;
    }
    const want = Array.from({ length: n }, (_, i) => i).sort((a, b) => (logits[a] !== logits[b] ? (logits[b] > logits[a] ? 1 : -1) : a - b));
    const c = Candidates.from(logits);
    assert.equal(c.sortTop(n), n);
    assert.equal(c.sorted, true);
    assert.deepEqual(Array.from(c.ids.subarray(0, n)), want, `n = ${n}`);
  }
});
