// Shared state for replicas behind a load balancer: `hearth serve --database postgres://…` keeps keys and usage in
// PostgreSQL (store/postgres/), `--redis redis://…` keeps the rate-limit windows and concurrency counters in
// Redis (redis-rate-limit.ts). What each does when its server is down:
//
// - PostgreSQL down at start: serve refuses to start (database_unavailable). Down later: every request that needs a
//   key is refused with 503 database_unavailable (authentication fails closed; cached keys are dropped as soon as
//   the LISTEN connection breaks), and usage rows that cannot be written are logged as errors. It recovers by
//   itself when the database answers again.
// - Redis down (at start or later): rate limits fall back to per-replica windows, with a warning and the
//   hearth_rate_limit_fallback gauge; back to Redis when it answers.

import { HearthError } from '../../util/errors.ts';
import { openPostgres } from '../../store/postgres/repositories.ts';
import { redactUrl } from '../../store/postgres/database.ts';
import type { ServeSecurity } from './serve-security.ts';
import { RedisRateLimiter } from './redis-rate-limit.ts';

export interface SharedStateFlags {
  /** --database: a postgres:// URL. */
  database?: string;
  /** --redis: a redis:// URL. */
  redis?: string;
  host: string;
}

export interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface SharedState {
  security: ServeSecurity;
  /** Gives the running server's logger to the parts that report outages. */
  setLog(log: Log): void;
}

export async function withSharedState(sec: ServeSecurity, f: SharedStateFlags): Promise<SharedState> {
  let log: Log | undefined;
  const closers: (() => void | Promise<void>)[] = [];
  const options = { ...sec.options };
  const warnings = [...sec.warnings];
  let limiter: RedisRateLimiter | undefined;
  try {
    if (f.database !== undefined) {
      const where = redactUrl(f.database);
      const repos = await openPostgres(f.database, {
        onListen: (up, err) => {
          if (up) log?.info({ database: where }, 'listening for key changes again: cached keys are in use');
          else log?.warn({ database: where, err: err?.message }, 'lost the key-change notifications: every key is checked in the database until they are back');
        },
      });
      closers.push(() => repos.close());
      if (sec.auth && (await repos.keys.activeCount()) === 0) {
        throw new HearthError('invalid_argument',
          `refusing to serve with authentication: no API key is active in ${repos.where}. Create one with "hearth keys create --database URL --name NAME"`);
      }
      if (sec.auth) options.keys = repos.keys;
      options.usage = repos.usage;
    }
    if (f.redis !== undefined) {
      limiter = new RedisRateLimiter(f.redis, { log: { warn: (o, m) => log?.warn(o, m), info: (o, m) => log?.info(o, m) } });
      closers.push(() => limiter!.close());
      if (!(await limiter.ready(2000))) {
        warnings.push(`Redis at ${limiter.where} does not answer yet: rate limits are per replica until it does`);
      }
      options.limiter = limiter;
    }
  } catch (e) {
    for (const c of closers.reverse()) await c();
    throw e;
  }
  return {
    security: {
      ...sec, options, warnings,
      close: async () => {
        for (const c of closers.reverse()) await c();
        await sec.close();
      },
    },
    setLog: (l) => {
      log = l;
    },
  };
}
