import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_DURATION_CHARS, parseGoDuration } from './go-duration.ts';

test('Go durations and bare seconds, as Ollama reads keep_alive', () => {
  const cases: [string, number][] = [
    ['5m', 300_000], ['1h30m', 5_400_000], ['250ms', 250], ['-1m', -60_000], ['0', 0], ['90', 90_000], ['-1', -1000],
    ['1.5h', 5_400_000], ['.5s', 500], ['1.s', 1000], ['+2s', 2000], ['10us', 0.01], ['10µs', 0.01], ['1000000ns', 1],
    ['1h1m1s1ms', 3_661_001], [' 5m ', 300_000], ['2.5', 2500],
  ];
  for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
});

test('anything else is NaN', () => {
  for (const text of ['', '-', '+', 'soon', '5x', 'm5', '1.2.3s', '.', '.s', '5m3', '1e3s', '--1s', '5 m', 'Infinity', 'NaN', '1d']) {
    assert.ok(Number.isNaN(parseGoDuration(text)), JSON.stringify(text));
  }
});

test('beyond Go\'s range or the length cap: NaN', () => {
  assert.ok(Number.isNaN(parseGoDuration('2562048h')));
  assert.ok(!Number.isNaN(parseGoDuration('2562047h')));
  assert.ok(Number.isNaN(parseGoDuration('1'.repeat(MAX_DURATION_CHARS + 1))));
  assert.ok(Number.isNaN(parseGoDuration('1'.repeat(400))));
});

test('hostile lengths are refused in linear time', () => {
  const t0 = performance.now();
  for (const text of ['1'.repeat(30_000), '1'.repeat(30_000) + 'x', '1s'.repeat(15_000) + 'x', '1.'.repeat(15_000)]) {
    assert.ok(Number.isNaN(parseGoDuration(text)));
  }
  assert.ok(performance.now() - t0 < 50, `took ${performance.now() - t0} ms`);
});
