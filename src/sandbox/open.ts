// The sandbox a caller gets: the best tier that works here, probed once. With none, the error says why and nothing
// runs.

import { HearthError } from '../util/errors.ts';
import { bwrapSandbox, type BwrapOptions } from './bwrap-sandbox.ts';
import type { Sandbox } from './types.ts';

let probed: Promise<Sandbox> | undefined;

/**
 * A working sandbox (bubblewrap on Linux), after one probe run; the same one on later calls unless `options` are
 * given. Rejects with HearthError('sandbox_unavailable') when no tier works: code is then never run.
 */
export function openSandbox(options?: BwrapOptions): Promise<Sandbox> {
  if (!options && probed) return probed;
  const p = (async () => {
    const sb = bwrapSandbox(options);
    try {
      await sb.probe();
    } catch (e) {
      if (e instanceof HearthError && e.code === 'sandbox_unavailable') throw e;
      throw new HearthError('sandbox_unavailable', `the bubblewrap sandbox does not work here: ${(e as Error).message}`, { cause: e });
    }
    return sb;
  })();
  if (!options) {
    probed = p;
    p.catch(() => { probed = undefined; });
  }
  return p;
}
