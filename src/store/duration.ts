// Durations as people type them: "90s", "15m", "24h", "30d", "2w" (a key's lifetime, a usage report's range).

import { HearthError } from '../util/errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds in "30d", "1.5h", …; invalid_argument otherwise. */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new HearthError('invalid_argument', `${what}: "${text}" is not a duration like 90s, 15m, 24h, 30d or 2w`);
  }
  return Math.round(ms);
}

/** A point in time: a duration back from now ("24h") or an ISO 8601 date ("2025-01-31", "2025-01-31T12:00Z"). */
export function parseSince(text: string, now: number, what = '--since'): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const t = Date.parse(text);
    if (Number.isFinite(t)) return t;
    throw new HearthError('invalid_argument', `${what}: "${text}" is not a valid date`);
  }
  return now - parseDuration(text, what);
}
