// Stop strings over streamed text. Text that could still turn into a stop string is held back; at the
// first complete match the output is cut just before it (the stop string itself is never emitted, as
// in OpenAI's API and llama-server) and everything after is dropped.

export interface StopPush {
  /** Text safe to show now. */
  emit: string;
  /** A stop string has matched; later pushes emit nothing. */
  stopped: boolean;
}

export class StopMatcher {
  private readonly stops: string[];
  private readonly maxLen: number;
  private held = '';
  private done = false;
  /** The stop string that matched, once one has. */
  matched: string | null = null;

  /** Empty strings are ignored; with no stops every push is emitted as is. */
  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((s) => s.length > 0))];
    this.maxLen = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  get stopped(): boolean {
    return this.done;
  }

  push(text: string): StopPush {
    if (this.done) return { emit: '', stopped: true };
    const buf = this.held + text;
    // The earliest complete match wins; among stops matching at the same place, the longest.
    let at = -1;
    let which = '';
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at || (i === at && s.length > which.length))) {
        at = i;
        which = s;
      }
    }
    if (at >= 0) {
      this.done = true;
      this.matched = which;
      this.held = '';
      return { emit: buf.slice(0, at), stopped: true };
    }
    const keep = this.pendingSuffix(buf);
    this.held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** The held-back text at the end of the stream (empty once stopped). */
  flush(): string {
    const out = this.done ? '' : this.held;
    this.held = '';
    return out;
  }

  /** Length of the longest suffix of buf that is a proper prefix of some stop string. */
  private pendingSuffix(buf: string): number {
    let keep = 0;
    for (let len = Math.min(this.maxLen - 1, buf.length); len > 0; len--) {
      const tail = buf.slice(buf.length - len);
      if (this.stops.some((s) => s.length > len && s.startsWith(tail))) {
        keep = len;
        break;
      }
    }
    // Never end an emit between the halves of a surrogate pair.
    if (keep < buf.length) {
      const last = buf.charCodeAt(buf.length - keep - 1);
      if (last >= 0xd800 && last <= 0xdbff) keep++;
    }
    return keep;
  }
}
