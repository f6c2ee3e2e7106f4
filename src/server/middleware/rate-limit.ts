// Per-key rate limits: requests and tokens per sliding window, and requests in flight.
//
// The window is a sliding log, not a fixed window: a request is admitted when fewer than `rpm` requests were
// admitted in the last `windowMs` (a fixed window resetting on the minute would let 2 × rpm through in a burst
// straddling the boundary). The log of a key's requests is a ring of at most `rpm` timestamps, so a check is O(1)
// and a refusal knows exactly when the oldest request leaves the window: that is its Retry-After. The ring grows
// with use up to `rpm` entries, so memory follows the traffic, not the limit.
//
// Tokens are only known after a request (the usage the server reports), so they are counted then: a request is
// admitted while the tokens counted in the window are under `tpm`, and its own prompt + completion tokens are
// added when it ends. A key can therefore overshoot `tpm` by the requests it has in flight, at most; its next
// request waits until enough of the window has slid past. No estimate is made up front: a prompt's size is
// only known after tokenizing, and max_tokens is an upper bound most requests never reach.
//
// RateLimiter is the seam for running several replicas: every operation names the key and is atomic per call,
// and each window maps onto a sorted set per key (ZREMRANGEBYSCORE, ZCARD, ZADD in one script):
// redis-rate-limit.ts is that shared implementation (`hearth serve --redis`), in place of InProcessRateLimiter
// without touching the middleware.

import { HearthError } from '../../util/errors.ts';
import type { Registry } from 'prom-client';
import type { KeyLimits } from '../../store/keys.ts';

export interface WindowState {
  limit: number;
  remaining: number;
  /** Milliseconds until the window is empty again. */
  resetMs: number;
}

export interface RateState {
  requests?: WindowState;
  tokens?: WindowState;
}

export type Admission =
  | { ok: true; state: RateState; ticket?: unknown }
  | { ok: false; limit: 'requests' | 'tokens' | 'concurrency'; retryAfterMs: number; state: RateState };

export interface RateLimiter {
  /** The sliding window, in ms. */
  readonly windowMs: number;
  /** Admits one request of `key` now (it holds a concurrency slot until release), or says when to retry. */
  admit(key: string, limits: KeyLimits): Admission | Promise<Admission>;
  /**
   * Ends an admitted request: frees its slot and counts its tokens (prompt + completion) in the token window.
   * `ticket` is the admission's, when it had one (a shared limiter names the slot it took).
   */
  release(key: string, limits: KeyLimits, tokens: number, ticket?: unknown): void | Promise<void>;
  /** Registers the limiter's own metrics (a shared limiter's fallback state) in the app's registry. */
  registerMetrics?(registry: Registry, prefix: string): void;
}

export interface InProcessOptions {
  /** The sliding window (default 60 000 ms: requests and tokens per minute). */
  windowMs?: number;
  /** The clock, in ms (tests move it by hand). */
  now?: () => number;
  /** What a client over its concurrency cap is told to wait: nothing says when a request will end (default 1000). */
  concurrencyRetryMs?: number;
}

/** The admission times in the window, oldest first: a ring that grows up to the limit as it fills. */
class RequestLog {
  readonly limit: number;
  times: Float64Array;
  head = 0;
  count = 0;

  constructor(limit: number, from?: RequestLog) {
    this.limit = limit;
    this.times = new Float64Array(Math.min(limit, 16));
    if (from) for (let i = Math.max(0, from.count - limit); i < from.count; i++) this.push(from.at(i));
  }

  at(i: number): number {
    return this.times[(this.head + i) % this.times.length];
  }

  /** Callers check count < limit first. */
  push(t: number): void {
    if (this.count === this.times.length) {
      // Memory follows use, not the limit: a key allowed 10^6 requests a minute that sends 10 holds 16 slots.
      const grown = new Float64Array(Math.min(this.limit, this.times.length * 2));
      for (let i = 0; i < this.count; i++) grown[i] = this.at(i);
      this.times = grown;
      this.head = 0;
    }
    this.times[(this.head + this.count) % this.times.length] = t;
    this.count++;
  }

  /** Drops the times at or before `cutoff`. */
  expire(cutoff: number): void {
    while (this.count > 0 && this.times[this.head] <= cutoff) {
      this.head = (this.head + 1) % this.times.length;
      this.count--;
    }
  }
}

/** Token counts with their times, oldest first, and their sum. */
class TokenLog {
  times: number[] = [];
  counts: number[] = [];
  start = 0;
  sum = 0;

  expire(cutoff: number): void {
    while (this.start < this.times.length && this.times[this.start] <= cutoff) this.sum -= this.counts[this.start++];
    // Compact once the dead head is large, so the arrays do not grow forever.
    if (this.start > 1024 && this.start * 2 > this.times.length) {
      this.times = this.times.slice(this.start);
      this.counts = this.counts.slice(this.start);
      this.start = 0;
    }
  }

  /** The time the oldest entries must leave so that the sum drops under `limit`. */
  underAt(limit: number): number {
    let sum = this.sum;
    for (let i = this.start; i < this.times.length; i++) {
      sum -= this.counts[i];
      if (sum < limit) return this.times[i];
    }
    return -Infinity;
  }

  newest(): number | undefined {
    return this.start < this.times.length ? this.times[this.times.length - 1] : undefined;
  }
}

interface KeyWindow {
  requests?: RequestLog;
  tokens: TokenLog;
  inFlight: number;
}

export class InProcessRateLimiter implements RateLimiter {
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly concurrencyRetryMs: number;
  private readonly windows = new Map<string, KeyWindow>();

  constructor(o: InProcessOptions = {}) {
    this.windowMs = o.windowMs ?? 60_000;
    this.now = o.now ?? Date.now;
    this.concurrencyRetryMs = o.concurrencyRetryMs ?? 1000;
    if (!(this.windowMs > 0)) throw new HearthError('invalid_argument', `the rate window must be positive; got ${this.windowMs} ms`);
  }

  private window(key: string): KeyWindow {
    let w = this.windows.get(key);
    if (!w) this.windows.set(key, (w = { tokens: new TokenLog(), inFlight: 0 }));
    return w;
  }

  admit(key: string, limits: KeyLimits): Admission {
    const now = this.now();
    const cutoff = now - this.windowMs;
    const w = this.window(key);
    const { rpm, tpm, concurrency } = limits;
    let log = w.requests;
    if (rpm !== undefined) {
      if (log?.limit !== rpm) log = w.requests = new RequestLog(rpm, log);
      log.expire(cutoff);
    }
    w.tokens.expire(cutoff);

    let retryAfterMs = 0;
    let over: 'requests' | 'tokens' | 'concurrency' | undefined;
    if (log && rpm !== undefined && log.count >= rpm) {
      retryAfterMs = log.at(0) + this.windowMs - now;
      over = 'requests';
    }
    if (tpm !== undefined && w.tokens.sum >= tpm) {
      const wait = w.tokens.underAt(tpm) + this.windowMs - now;
      if (wait > retryAfterMs || !over) [retryAfterMs, over] = [Math.max(wait, retryAfterMs), 'tokens'];
    }
    if (concurrency !== undefined && w.inFlight >= concurrency && !over) {
      [retryAfterMs, over] = [this.concurrencyRetryMs, 'concurrency'];
    }
    if (!over) {
      log?.push(now);
      w.inFlight++;
    }
    const state = this.state(w, limits, now);
    return over ? { ok: false, limit: over, retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)), state } : { ok: true, state };
  }

  release(key: string, _limits: KeyLimits, tokens: number): void {
    const w = this.windows.get(key);
    if (!w) return;
    w.inFlight = Math.max(0, w.inFlight - 1);
    if (tokens > 0) {
      w.tokens.times.push(this.now());
      w.tokens.counts.push(tokens);
      w.tokens.sum += tokens;
    }
  }

  /** Requests of `key` in flight now. */
  inFlight(key: string): number {
    return this.windows.get(key)?.inFlight ?? 0;
  }

  private state(w: KeyWindow, limits: KeyLimits, now: number): RateState {
    const state: RateState = {};
    if (limits.rpm !== undefined && w.requests) {
      const log = w.requests;
      const newest = log.count ? log.at(log.count - 1) : undefined;
      state.requests = { limit: limits.rpm, remaining: limits.rpm - log.count, resetMs: newest === undefined ? 0 : newest + this.windowMs - now };
    }
    if (limits.tpm !== undefined) {
      const newest = w.tokens.newest();
      state.tokens = { limit: limits.tpm, remaining: Math.max(0, limits.tpm - w.tokens.sum), resetMs: newest === undefined ? 0 : newest + this.windowMs - now };
    }
    return state;
  }
}

/** A duration as OpenAI writes its reset headers: "250ms", "1.5s", "6m0s". */
export function formatReset(ms: number): string {
  const t = Math.max(0, Math.ceil(ms));
  if (t < 1000) return `${t}ms`;
  if (t < 60_000) return `${+(t / 1000).toFixed(3)}s`;
  return `${Math.floor(t / 60_000)}m${+((t % 60_000) / 1000).toFixed(3)}s`;
}

/** OpenAI's x-ratelimit-* headers for a key's windows. */
export function rateHeaders(state: RateState): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [name, w] of [['requests', state.requests], ['tokens', state.tokens]] as const) {
    if (!w) continue;
    h[`x-ratelimit-limit-${name}`] = String(w.limit);
    h[`x-ratelimit-remaining-${name}`] = String(w.remaining);
    h[`x-ratelimit-reset-${name}`] = formatReset(w.resetMs);
  }
  return h;
}
