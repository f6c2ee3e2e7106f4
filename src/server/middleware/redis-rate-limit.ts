// Rate limits shared by every replica (`hearth serve --redis redis://…`): the same sliding windows as
// InProcessRateLimiter, kept in Redis (ioredis) as three sorted sets per key, each admission one Lua script, so
// that an rpm limit is exact across replicas.
//
//   hearth:rl:{KEY}:r  admitted requests in the window      score: admission time, member: the request's ticket
//   hearth:rl:{KEY}:t  token counts of finished requests    score: release time,   member: "COUNT:ticket"
//   hearth:rl:{KEY}:c  requests in flight                   score: admission time, member: the ticket
//
// The script reads Redis's own clock (TIME), so replicas with skewed clocks share one window. A request in flight
// holds its member in :c until release; one whose replica died is dropped after `leaseMs` (default 10 minutes),
// as a stream can last that long.
//
// When Redis cannot be reached (refused, reset, a command past `commandTimeoutMs`) each replica decides alone with
// its own InProcessRateLimiter: a warning is logged once per outage, the gauge hearth_rate_limit_fallback is 1
// and hearth_rate_limit_fallback_decisions_total counts the decisions taken so. A key's limit then holds per
// replica (N replicas let up to N × rpm through). When Redis answers again (ioredis reconnects on its own),
// admissions go back to it, the gauge drops to 0 and an info line says so. Requests admitted locally are
// released locally.

import { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { HearthError } from '../../util/errors.ts';
import type { KeyLimits } from '../../store/keys.ts';
import { InProcessRateLimiter, type Admission, type RateLimiter, type RateState } from './rate-limit.ts';

const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local rpm = tonumber(ARGV[2])
local tpm = tonumber(ARGV[3])
local conc = tonumber(ARGV[4])
local member = ARGV[5]
local lease = tonumber(ARGV[6])
local cutoff = now - window
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', cutoff)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - lease)
local reqs = redis.call('ZCARD', KEYS[1])
local toks = {}
local tsum = 0
if tpm > 0 then
  toks = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #toks, 2 do tsum = tsum + tonumber(string.match(toks[i], '^(%d+):')) end
end
local over = 0
local retry = 0
if rpm > 0 and reqs >= rpm then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  retry = tonumber(oldest[2]) + window - now
  over = 1
end
if tpm > 0 and tsum >= tpm then
  local s = tsum
  local at = now - window
  for i = 1, #toks, 2 do
    s = s - tonumber(string.match(toks[i], '^(%d+):'))
    if s < tpm then at = tonumber(toks[i + 1]) break end
  end
  local wait = at + window - now
  if over == 0 or wait > retry then
    if wait > retry then retry = wait end
    over = 2
  end
end
if conc > 0 and over == 0 and redis.call('ZCARD', KEYS[3]) >= conc then
  over = 3
  retry = tonumber(ARGV[7])
end
if over == 0 then
  if rpm > 0 then
    redis.call('ZADD', KEYS[1], now, member)
    reqs = reqs + 1
  end
  if conc > 0 then redis.call('ZADD', KEYS[3], now, member) end
end
local newest = -1
if rpm > 0 and reqs > 0 then newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]) end
local tnewest = -1
if #toks > 0 then tnewest = tonumber(toks[#toks]) end
if rpm > 0 then redis.call('PEXPIRE', KEYS[1], window + 1000) end
if conc > 0 then redis.call('PEXPIRE', KEYS[3], lease + 1000) end
return {over, retry, reqs, tsum, newest, tnewest, now}
`;

const RELEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[1], ARGV[1])
local tokens = tonumber(ARGV[2])
if tokens > 0 then
  redis.call('ZADD', KEYS[2], now, tokens .. ':' .. ARGV[1])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) + 1000)
end
return 1
`;

type Script = (...args: (string | number)[]) => Promise<number[]>;
interface HearthRedis extends Redis {
  hearthAdmit: Script;
  hearthRelease: Script;
}

export interface RedisLimiterOptions {
  /** The sliding window (default 60 000 ms). */
  windowMs?: number;
  /** How long an admitted request keeps its concurrency slot without a release (default 600 000 ms). */
  leaseMs?: number;
  /** A command slower than this counts as Redis down (default 250 ms). */
  commandTimeoutMs?: number;
  concurrencyRetryMs?: number;
  /** Where warnings go (the server's logger). */
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** The URL without its password, for messages and logs. */
function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://…';
  }
}

/** A ticket: the Redis member of a request admitted there, or a marker for one admitted locally. */
const LOCAL = Symbol('local admission');

export class RedisRateLimiter implements RateLimiter {
  readonly windowMs: number;
  readonly where: string;
  private readonly redis: HearthRedis;
  /** A second connection for releases, so that an admission never waits behind the release of another request. */
  private readonly releaser: HearthRedis;
  private readonly local: InProcessRateLimiter;
  private readonly leaseMs: number;
  private readonly concurrencyRetryMs: number;
  private log?: RedisLimiterOptions['log'];
  private fallingBack = false;
  private gauge?: Gauge;
  private counter?: Counter;

  constructor(url: string, o: RedisLimiterOptions = {}) {
    if (!/^rediss?:\/\//i.test(url)) throw new HearthError('invalid_argument', `--redis wants a redis:// URL; got ${JSON.stringify(redactRedisUrl(url))}`);
    this.windowMs = o.windowMs ?? 60_000;
    this.leaseMs = o.leaseMs ?? 600_000;
    this.concurrencyRetryMs = o.concurrencyRetryMs ?? 1000;
    this.where = redactRedisUrl(url);
    this.log = o.log;
    this.local = new InProcessRateLimiter({ windowMs: this.windowMs, concurrencyRetryMs: this.concurrencyRetryMs });
    this.redis = new Redis(url, {
      // Fail at once while disconnected (the fallback decides), and reconnect behind, at most a second apart.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: o.commandTimeoutMs ?? 250,
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(100 * times, 1000),
    }) as HearthRedis;
    this.redis.defineCommand('hearthAdmit', { numberOfKeys: 3, lua: ADMIT });
    this.redis.defineCommand('hearthRelease', { numberOfKeys: 2, lua: RELEASE });
    this.redis.on('error', () => {});
    this.redis.on('ready', () => this.recovered());
    this.releaser = this.redis.duplicate() as HearthRedis;
    this.releaser.defineCommand('hearthRelease', { numberOfKeys: 2, lua: RELEASE });
    this.releaser.on('error', () => {});
  }

  /** Sets the logger (the server's, once the app exists). */
  setLog(log: RedisLimiterOptions['log']): void {
    this.log = log;
  }

  /** Resolves once connected, or after `ms` (the fallback covers a Redis that is not up yet). */
  async ready(ms = 2000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.redis.off('ready', ok);
        resolve(false);
      }, ms);
      const ok = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.redis.once('ready', ok);
    });
  }

  /** Whether decisions are per replica now (Redis unreachable). */
  get degraded(): boolean {
    return this.fallingBack;
  }

  registerMetrics(registry: Registry, prefix: string): void {
    const registers = [registry];
    const self = this;
    this.gauge = new Gauge({
      name: `${prefix}rate_limit_fallback`, registers,
      help: '1 while Redis cannot be reached and rate limits are decided per replica, else 0',
      collect() { this.set(self.fallingBack ? 1 : 0); },
    });
    this.counter = new Counter({
      name: `${prefix}rate_limit_fallback_decisions_total`, registers,
      help: 'Rate-limit decisions taken per replica because Redis could not be reached',
    });
  }

  private keys(key: string): [string, string, string] {
    const base = `hearth:rl:{${key}}`;
    return [`${base}:r`, `${base}:t`, `${base}:c`];
  }

  private fallback(err: unknown): void {
    this.counter?.inc();
    if (this.fallingBack) return;
    this.fallingBack = true;
    this.log?.warn({ redis: this.where, err: (err as Error)?.message },
      'Redis cannot be reached: rate limits fall back to per-replica windows until it answers again');
  }

  private recovered(): void {
    if (!this.fallingBack) return;
    this.fallingBack = false;
    this.log?.info({ redis: this.where }, 'Redis answers again: rate limits are shared across replicas again');
  }

  async admit(key: string, limits: KeyLimits): Promise<Admission> {
    const { rpm, tpm, concurrency } = limits;
    if (this.redis.status === 'ready') {
      const ticket = randomUUID();
      try {
        const [over, retry, reqs, tsum, newest, tnewest, now] = (await this.redis.hearthAdmit(
          ...this.keys(key), this.windowMs, rpm ?? 0, tpm ?? 0, concurrency ?? 0, ticket, this.leaseMs, this.concurrencyRetryMs)).map(Number);
        this.recovered();
        const state: RateState = {};
        if (rpm !== undefined) state.requests = { limit: rpm, remaining: Math.max(0, rpm - reqs), resetMs: newest < 0 ? 0 : newest + this.windowMs - now };
        if (tpm !== undefined) state.tokens = { limit: tpm, remaining: Math.max(0, tpm - tsum), resetMs: tnewest < 0 ? 0 : tnewest + this.windowMs - now };
        if (over === 0) return { ok: true, state, ticket };
        const limit = over === 1 ? 'requests' : over === 2 ? 'tokens' : 'concurrency';
        return { ok: false, limit, retryAfterMs: Math.max(1, Math.ceil(retry)), state };
      } catch (e) {
        this.fallback(e);
      }
    } else {
      this.fallback(new Error(`connection ${this.redis.status}`));
    }
    const a = this.local.admit(key, limits);
    return a.ok ? { ...a, ticket: LOCAL } : a;
  }

  async release(key: string, limits: KeyLimits, tokens: number, ticket?: unknown): Promise<void> {
    if (ticket === LOCAL || typeof ticket !== 'string') {
      this.local.release(key, limits, tokens);
      return;
    }
    const [, t, c] = this.keys(key);
    try {
      await this.releaser.hearthRelease(c, t, ticket, Math.max(0, Math.round(tokens)), this.windowMs);
    } catch (e) {
      // The slot goes when its lease ends; the tokens are not counted.
      this.log?.warn({ redis: this.where, err: (e as Error).message }, 'rate limiter release failed: the concurrency slot is freed when its lease ends');
    }
  }

  /** The Redis server's version (INFO server). */
  async serverVersion(): Promise<string> {
    return /redis_version:(\S+)/.exec(await this.redis.info('server'))?.[1] ?? 'unknown';
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    this.releaser.disconnect();
  }
}
