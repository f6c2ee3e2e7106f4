// One full garbage collection when the process has gone idle. V8 collects when allocation asks for it, so the garbage
// of the last burst of requests (parsed bodies, token arrays, per-request grammar caches) can stay resident for as long
// as nothing more is allocated — on an idle server, indefinitely. The engine host calls this a few seconds into each
// idle spell, in the serving thread and in the engine thread: one major collection (milliseconds on a heap of tens of
// MiB), never while work is in flight, and not again until more work has come and gone.
// The collector is reached as V8 exposes it to a context created after `--expose-gc` is set (node:v8's
// setFlagsFromString, then a fresh node:vm context), since Worker threads cannot be given V8 flags of their own.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

/** Runs a full collection; false where V8 does not expose one. */
export function collectGarbage(): boolean {
  if (collector === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('typeof gc === "function" ? gc : null') as (() => void) | null;
      collector = gc;
    } catch {
      collector = null;
    }
  }
  if (!collector) return false;
  collector();
  return true;
}
