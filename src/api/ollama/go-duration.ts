// Go's time.ParseDuration, as Ollama reads keep_alive: "5m", "1h30m", "-1.5h", "300ms", "0", plus a bare number of
// seconds ("90", "-1"). A hand-written scanner, linear in the input, with a length cap: no regular expression.

/** Longest duration text read; Go's longest useful one ("-2562047h47m16.854775807s") is 25 characters. */
export const MAX_DURATION_CHARS = 64;

/** Go's limit: a time.Duration is an int64 of nanoseconds (about 292 years), here in milliseconds. */
export const MAX_DURATION_MS = 9_223_372_036_854.775;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * A Go duration or a bare number of seconds, in milliseconds; NaN when it is neither, longer than
 * MAX_DURATION_CHARS, or beyond Go's range (MAX_DURATION_MS).
 */
export function parseGoDuration(text: string): number {
  const t = text.trim();
  if (t.length === 0 || t.length > MAX_DURATION_CHARS) return NaN;
  let i = 0;
  let sign = 1;
  if (t[i] === '-' || t[i] === '+') {
    if (t[i] === '-') sign = -1;
    i++;
  }
  if (i === t.length) return NaN;
  let total = 0;
  let units = 0;
  while (i < t.length) {
    // a number: digits, optionally a fraction; at least one digit in all (Go accepts "1.", ".5")
    const start = i;
    while (i < t.length && isDigit(t.charCodeAt(i))) i++;
    if (t[i] === '.') {
      i++;
      while (i < t.length && isDigit(t.charCodeAt(i))) i++;
    }
    const digits = t.slice(start, i);
    if (digits === '' || digits === '.') return NaN;
    // a unit: the letters up to the next digit or dot
    const u0 = i;
    while (i < t.length && !isDigit(t.charCodeAt(i)) && t[i] !== '.') i++;
    const unit = t.slice(u0, i);
    if (unit === '') {
      // a bare number is seconds (Ollama's "-1", "90"), but only on its own
      if (units > 0 || i !== t.length) return NaN;
      total = Number(digits) * 1000;
      break;
    }
    const ms = UNIT_MS[unit];
    if (ms === undefined) return NaN;
    total += Number(digits) * ms;
    units++;
  }
  if (!Number.isFinite(total) || total > MAX_DURATION_MS) return NaN;
  return sign * total;
}
