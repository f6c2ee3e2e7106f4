// Secrets never reach a log line: the logger's hook scrubs every string it is given (the message, the fields, an
// error's message and stack), and pino's redact censors the header fields that carry keys. What counts as a secret:
// a hearth key (hth_…), an OpenAI- or Anthropic-style key (sk-…), the credential after Bearer / Basic, and the value
// of a query parameter named like a key (?key=, ?api_key=, ?token=, …).

import type { FastifyServerOptions } from 'fastify';

const CENSOR = '[REDACTED]';

const SECRET_PATTERNS: [RegExp, string][] = [
  [/hth_[0-9A-Za-z]+/g, `hth_${CENSOR}`],
  [/\bsk-[0-9A-Za-z_-]{8,}/g, `sk-${CENSOR}`],
  [/\b(Bearer|Basic)[ \t]+[^\s"',;]+/gi, `$1 ${CENSOR}`],
  [/([?&](?:key|api[_-]?key|token|access_token|auth|password|secret|signature)=)[^&#\s"']*/gi, `$1${CENSOR}`],
];

/** `text` with every secret replaced by [REDACTED]. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [re, to] of SECRET_PATTERNS) out = out.replace(re, to);
  return out;
}

function scrub(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactSecrets(v);
  if (depth > 8 || v === null || typeof v !== 'object') return v;
  if (v instanceof Error) {
    const e = new Error(redactSecrets(v.message));
    e.name = v.name;
    e.stack = v.stack === undefined ? undefined : redactSecrets(v.stack);
    for (const [k, x] of Object.entries(v)) (e as unknown as Record<string, unknown>)[k] = scrub(x, depth + 1);
    return e;
  }
  if (Array.isArray(v)) return v.map((x) => scrub(x, depth + 1));
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = scrub(x, depth + 1);
  return out;
}

/** Header fields censored whole, wherever a logged object carries request headers. */
const REDACT_PATHS = ['authorization', 'x-api-key', 'proxy-authorization', 'cookie'].flatMap((h) =>
  [`req.headers["${h}"]`, `headers["${h}"]`, `request.headers["${h}"]`]);

type LogMethodHook = (this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number) => void;

/**
 * The pino options that keep secrets out of every line, whatever the destination (stdout, the --log-dir files):
 * the censored header paths and a logMethod hook that scrubs each argument (`inner`, a hook of the caller's, runs
 * after it on the scrubbed arguments).
 */
export function redactionOptions(inner?: LogMethodHook): { redact: { paths: string[]; censor: string }; hooks: { logMethod: LogMethodHook } } {
  return {
    redact: { paths: REDACT_PATHS, censor: CENSOR },
    hooks: {
      logMethod(this: unknown, args: unknown[], method: (...a: unknown[]) => void, level: number) {
        const clean = args.map((a) => scrub(a, 0));
        if (inner) return inner.call(this, clean, method, level);
        return method.apply(this, clean);
      },
    },
  };
}

/**
 * fastify's logger option with the redaction added: pino options get the hook and the censored paths; false stays
 * false; a logger instance the caller made is theirs to configure (`createLogger` in server/logs/logger.ts makes
 * one with the same redaction).
 */
export function redactingLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === false || logger === undefined) return false;
  const opts = logger === true ? {} : logger;
  if (typeof (opts as { child?: unknown }).child === 'function') return logger;
  const o = opts as Exclude<FastifyServerOptions['logger'], boolean | undefined> & Record<string, unknown>;
  const hooks = (o.hooks ?? {}) as { logMethod?: LogMethodHook };
  const r = redactionOptions(hooks.logMethod);
  return { ...o, redact: r.redact, hooks: { ...hooks, ...r.hooks } } as FastifyServerOptions['logger'];
}
