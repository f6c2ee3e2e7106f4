import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessRateLimiter, formatReset, rateHeaders, type Admission } from './rate-limit.ts';

function limiter(windowMs = 60_000) {
  const clock = { t: 1_000_000 };
  return { clock, rl: new InProcessRateLimiter({ windowMs, now: () => clock.t }) };
}

const refused = (a: Admission) => (a.ok ? assert.fail('admitted') : a);

test('requests: admitted up to the limit, the next refused with the exact wait until the oldest leaves', () => {
  const { clock, rl } = limiter();
  const limits = { rpm: 3 };
  const starts = [0, 10_000, 20_000];
  for (const [i, dt] of starts.entries()) {
    clock.t = 1_000_000 + dt;
    const a = rl.admit('k', limits);
    assert.ok(a.ok);
    assert.equal(a.state.requests!.remaining, 2 - i);
    rl.release('k', limits, 0);
  }
  clock.t = 1_030_000;
  const r = refused(rl.admit('k', limits));
  assert.equal(r.limit, 'requests');
  assert.equal(r.retryAfterMs, 30_000); // the first request (t0) leaves the window at t0 + 60 s
  assert.equal(r.state.requests!.remaining, 0);
  assert.equal(r.state.requests!.resetMs, 50_000); // the newest (t0 + 20 s) leaves at t0 + 80 s
  clock.t += r.retryAfterMs - 1;
  assert.equal(refused(rl.admit('k', limits)).retryAfterMs, 1);
  clock.t += 1;
  assert.ok(rl.admit('k', limits).ok);
  assert.ok(!rl.admit('k', limits).ok, 'the slot freed at t0 + 60 s is used');
});

test('a burst straddling a window boundary cannot exceed the limit (a fixed window lets 2x through)', () => {
  const W = 60_000;
  const L = 10;
  const { clock, rl } = limiter(W);
  // A fixed window counts per [kW, (k+1)W): L requests just before a boundary, L just after.
  const fixed = new Map<number, number>();
  const fixedAdmit = (t: number) => {
    const k = Math.floor(t / W);
    const n = fixed.get(k) ?? 0;
    if (n >= L) return false;
    fixed.set(k, n + 1);
    return true;
  };
  const times = [...Array.from({ length: 2 * L }, (_, i) => 2 * W - 100 + i), ...Array.from({ length: 2 * L }, (_, i) => 2 * W + 1 + i)];
  let fixedCount = 0;
  let slidingCount = 0;
  for (const t of times) {
    clock.t = t;
    if (fixedAdmit(t)) fixedCount++;
    if (rl.admit('k', { rpm: L }).ok) slidingCount++;
  }
  assert.equal(fixedCount, 2 * L, 'the fixed window lets 2x through within 120 ms');
  assert.equal(slidingCount, L);
});

test('over random arrivals, no window-long interval ever holds more than the limit', () => {
  const W = 1000;
  const L = 7;
  const { clock, rl } = limiter(W);
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const admitted: number[] = [];
  let t = 0;
  for (let i = 0; i < 3000; i++) {
    t += Math.floor(rand() * 120);
    clock.t = t;
    const a = rl.admit('k', { rpm: L });
    if (a.ok) admitted.push(t);
    else assert.ok(admitted.at(-L)! + W - t === a.retryAfterMs, 'Retry-After is when the L-th latest admission leaves');
  }
  for (let i = L; i < admitted.length; i++) assert.ok(admitted[i] - admitted[i - L] >= W, `${L + 1} admissions within ${W} ms at ${admitted[i]}`);
  assert.ok(admitted.length > 3000 * 0.1, 'the limiter admits as much as the limit allows');
});

test('tokens: counted at release; admitted while under the limit, then the wait until enough slid out', () => {
  const { clock, rl } = limiter();
  const limits = { tpm: 100 };
  assert.ok(rl.admit('k', limits).ok);
  rl.release('k', limits, 60); // t0
  clock.t += 10_000;
  const a = rl.admit('k', limits);
  assert.ok(a.ok);
  assert.equal(a.state.tokens!.remaining, 40);
  rl.release('k', limits, 70); // t0 + 10 s: 130 in the window
  clock.t += 5_000;
  const r = refused(rl.admit('k', limits));
  assert.equal(r.limit, 'tokens');
  // Dropping the first 60 leaves 70 < 100: it leaves at t0 + 60 s, 45 s from now.
  assert.equal(r.retryAfterMs, 45_000);
  assert.equal(r.state.tokens!.remaining, 0);
  clock.t += 45_000;
  assert.ok(rl.admit('k', limits).ok);
});

test('concurrency: a slot per request until released; other keys are independent', () => {
  const { rl } = limiter();
  const limits = { concurrency: 2 };
  assert.ok(rl.admit('k', limits).ok);
  assert.ok(rl.admit('k', limits).ok);
  const r = refused(rl.admit('k', limits));
  assert.equal(r.limit, 'concurrency');
  assert.ok(rl.admit('other', limits).ok);
  rl.release('k', limits, 0);
  assert.equal(rl.inFlight('k'), 1);
  assert.ok(rl.admit('k', limits).ok);
});

test('a refused request takes no slot, and the longest wait wins when several limits are over', () => {
  const { clock, rl } = limiter();
  const limits = { rpm: 1, tpm: 10 };
  assert.ok(rl.admit('k', limits).ok); // t0: the request window frees at t0 + 60 s
  clock.t += 5000;
  rl.release('k', limits, 50); // t0 + 5 s: the token window frees at t0 + 65 s
  clock.t += 1000;
  const r = refused(rl.admit('k', limits));
  assert.deepEqual([r.limit, r.retryAfterMs], ['tokens', 59_000]);
  assert.equal(rl.inFlight('k'), 0);
  clock.t += 54_000; // requests free again, tokens not yet
  assert.deepEqual([refused(rl.admit('k', limits)).limit, refused(rl.admit('k', limits)).retryAfterMs], ['tokens', 5000]);
});

test('a changed limit keeps the newest admissions', () => {
  const { clock, rl } = limiter();
  for (let i = 0; i < 5; i++, clock.t += 1000) assert.ok(rl.admit('k', { rpm: 5 }).ok);
  assert.ok(!rl.admit('k', { rpm: 3 }).ok);
  assert.ok(rl.admit('k', { rpm: 6 }).ok);
});

test('reset durations and OpenAI headers', () => {
  assert.equal(formatReset(0), '0ms');
  assert.equal(formatReset(250.2), '251ms');
  assert.equal(formatReset(1500), '1.5s');
  assert.equal(formatReset(360_000), '6m0s');
  assert.equal(formatReset(61_250), '1m1.25s');
  assert.deepEqual(rateHeaders({ requests: { limit: 60, remaining: 59, resetMs: 1000 }, tokens: { limit: 1000, remaining: 10, resetMs: 90_000 } }), {
    'x-ratelimit-limit-requests': '60', 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-reset-requests': '1s',
    'x-ratelimit-limit-tokens': '1000', 'x-ratelimit-remaining-tokens': '10', 'x-ratelimit-reset-tokens': '1m30s',
  });
  assert.throws(() => new InProcessRateLimiter({ windowMs: 0 }), /positive/);
});

test('the request log grows with use: a huge limit costs nothing until used, and stays exact past the growth', () => {
  const { clock, rl } = limiter(1000);
  const limits = { rpm: 1e9 };
  for (let i = 0; i < 100; i++) assert.ok(rl.admit('big', limits).ok);
  const small = { rpm: 40 };
  for (let i = 0; i < 40; i++, clock.t += 10) assert.ok(rl.admit('k', small).ok, `admission ${i}`);
  const r = refused(rl.admit('k', small));
  assert.equal(r.retryAfterMs, 1000 - 400); // the first of the 40 (t0) leaves at t0 + 1000
  clock.t += 600;
  assert.ok(rl.admit('k', small).ok);
  assert.ok(!rl.admit('k', small).ok);
  clock.t += 10;
  assert.ok(rl.admit('k', small).ok, 'the second one (t0 + 10) left');
});
