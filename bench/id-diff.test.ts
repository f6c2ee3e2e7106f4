import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffIds, describeDiff } from './id-diff.ts';

const base = Array.from({ length: 100 }, (_, i) => 1000 + i);

test('identical sequences', () => {
  const d = diffIds(base, [...base]);
  assert.equal(d.identical, true);
  assert.equal(describeDiff(d), 'yes');
});

test('one merge difference is one region, and the walk resynchronises', () => {
  // ours splits id 1010 into two ids where theirs has one; a second, one-for-one change later.
  const ours = [...base.slice(0, 10), 7, 8, ...base.slice(11, 50), 9, ...base.slice(51)];
  const d = diffIds(ours, base);
  assert.equal(d.identical, false);
  assert.equal(d.regions, 2);
  assert.equal(d.oursIds, 3);
  assert.equal(d.theirsIds, 2);
  assert.equal(d.firstOurs, 10);
  assert.equal(d.lostSync, false);
});

test('differences at the ends', () => {
  const d = diffIds(base.slice(0, 99), base);
  assert.equal(d.regions, 1);
  assert.equal(d.oursIds, 0);
  assert.equal(d.theirsIds, 1);
  const e = diffIds([5, ...base], base);
  assert.equal(e.regions, 1);
  assert.equal(e.firstOurs, 0);
  assert.equal(e.oursIds, 1);
});

test('unrelated sequences: one region when short, lost sync when past the window', () => {
  const short = diffIds(base, base.map((x) => x + 5000));
  assert.equal(short.regions, 1);
  assert.equal(short.lostSync, false);
  const long = Array.from({ length: 1000 }, (_, i) => i);
  const d = diffIds(long, long.map((x) => x + 5000));
  assert.equal(d.lostSync, true);
  assert.equal(d.oursIds, 1000);
  assert.equal(d.theirsIds, 1000);
  assert.match(describeDiff(d), /lost sync/);
});
