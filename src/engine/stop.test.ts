import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StopMatcher } from './stop.ts';

/** Feeds pieces and returns what was shown, whether it stopped, and the match. */
function run(stops: string[], pieces: string[]): { shown: string; stopped: boolean; matched: string | null; emits: string[] } {
  const m = new StopMatcher(stops);
  const emits: string[] = [];
  let stopped = false;
  for (const p of pieces) {
    const r = m.push(p);
    emits.push(r.emit);
    stopped = r.stopped;
  }
  if (!stopped) emits.push(m.flush());
  return { shown: emits.join(''), stopped, matched: m.matched, emits };
}

test('no stops: everything passes straight through', () => {
  const r = run([], ['Hello', ' world']);
  assert.deepEqual(r.emits, ['Hello', ' world', '']);
  assert.equal(r.stopped, false);
});

test('a stop inside one piece cuts before it and drops the rest', () => {
  const r = run(['</s>'], ['Hello</s>ignored', 'more']);
  assert.equal(r.shown, 'Hello');
  assert.equal(r.stopped, true);
  assert.equal(r.matched, '</s>');
  assert.deepEqual(r.emits, ['Hello', '']);
});

test('a stop split across pushes is held back, then cut', () => {
  const r = run(['STOP'], ['abc S', 'T', 'OP def']);
  assert.deepEqual(r.emits, ['abc ', '', '']);
  assert.equal(r.shown, 'abc ');
  assert.equal(r.stopped, true);
});

test('a held prefix that does not complete is released', () => {
  const r = run(['STOP'], ['abc ST', 'ART', ' end']);
  assert.deepEqual(r.emits, ['abc ', 'START', ' end', '']);
  assert.equal(r.stopped, false);
});

test('held text at the end of the stream comes out of flush()', () => {
  const m = new StopMatcher(['\n\nUser:']);
  assert.deepEqual(m.push('answer\n\nUs'), { emit: 'answer', stopped: false });
  assert.equal(m.flush(), '\n\nUs');
  assert.equal(m.flush(), '');
});

test('only the longest possible prefix is held, not the whole buffer', () => {
  const m = new StopMatcher(['abab']);
  assert.deepEqual(m.push('xaba'), { emit: 'x', stopped: false }); // "aba" could start "abab"
  assert.deepEqual(m.push('c'), { emit: 'abac', stopped: false });
});

test('overlapping stops: the earliest complete match wins', () => {
  assert.equal(run(['abcd', 'bc'], ['xabc']).shown, 'xa');
  assert.equal(run(['abcd', 'bc'], ['xabc']).matched, 'bc');
  assert.equal(run(['cd', 'abcd'], ['xab', 'cd']).shown, 'x'); // "abcd" starts earlier than "cd"
  assert.equal(run(['ab', 'abc'], ['xabc']).matched, 'abc'); // same start: the longer one
});

test('a match that begins in held text and ends in the new piece', () => {
  const r = run(['<|im_end|>'], ['Hi<|im', '_', 'end|>\n']);
  assert.equal(r.shown, 'Hi');
  assert.deepEqual(r.emits, ['Hi', '', '']);
});

test('unicode: stops with multi-unit characters, split by character', () => {
  const r = run(['👋 bye'], ['Hello 👋', ' b', 'ye!']);
  assert.deepEqual(r.emits, ['Hello ', '', '']);
  const s = run(['終わり'], ['これで終', 'わ', 'り です']);
  assert.equal(s.shown, 'これで');
  const t = run(['終わり'], ['これで終', 'わ', 'る']);
  assert.equal(t.shown, 'これで終わる');
});

test('a lone high surrogate at the end of a piece is held until its pair arrives', () => {
  const m = new StopMatcher(['zzz']);
  const emoji = '😀';
  assert.deepEqual(m.push('a' + emoji[0]), { emit: 'a', stopped: false });
  assert.deepEqual(m.push(emoji[1] + 'b'), { emit: emoji + 'b', stopped: false });
});

test('after stopping, pushes emit nothing and flush is empty', () => {
  const m = new StopMatcher(['x']);
  assert.deepEqual(m.push('1x2'), { emit: '1', stopped: true });
  assert.deepEqual(m.push('3'), { emit: '', stopped: true });
  assert.equal(m.flush(), '');
  assert.equal(m.stopped, true);
});
