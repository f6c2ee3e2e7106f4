import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactJson, member, readJson } from './partial-json.ts';

test('readJson reads whole values with their places, and stops where a prefix stops', () => {
  const text = ' {"a": [1, -2.5e3, true, null], "b": {"c": "x\\"y\\u00e9"}, "a": "last"} tail';
  const n = readJson(text)!;
  assert.equal(n.kind, 'object');
  assert.equal(text.slice(n.start, n.end), text.trim().replace(/ tail$/, ''));
  assert.deepEqual(member(n, 'a'), { kind: 'string', start: text.indexOf('"last"'), end: text.indexOf('"last"') + 6, value: 'last' });
  const c = member(member(n, 'b'), 'c')!;
  assert.equal(c.kind === 'string' && c.value, 'x"yé');
  // Every prefix reads without failing, and what is open has end -1.
  for (let i = 2; i < text.length - 5; i++) {
    const p = readJson(text.slice(0, i));
    assert.ok(p, `prefix ${JSON.stringify(text.slice(0, i))}`);
    assert.equal(p.end < 0, i < n.end, `prefix of ${i}`);
  }
  assert.equal(readJson('{"a" 1}'), undefined);
  assert.equal(readJson('[1, 2,, 3]'), undefined);
  assert.equal(member(readJson('{"a": tru')!, 'a')!.end, -1);
  assert.equal(readJson('{"a": trux}'), undefined);
  assert.equal(readJson('"\\q"'), undefined);
});

test('compactJson: the compact form of a prefix is a prefix of the compact form', () => {
  const value = { k: 'a b\t"c" \\ }', list: [1, { x: null }, 'y z'], n: -0.5 };
  const written = JSON.stringify(value, null, 2);
  const whole = compactJson(written);
  assert.equal(whole, JSON.stringify(value));
  for (let i = 0; i <= written.length; i++) assert.ok(whole.startsWith(compactJson(written.slice(0, i))), `prefix ${i}`);
});
