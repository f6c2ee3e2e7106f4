// Generation on one context: a one-slot use of the scheduler, so that `hearth run`, the server and the library
// share one loop (prompt checks, prefix reuse, sampling, end of generation, stop strings, events).

import { HearthError } from '../util/errors.ts';
import { Channel } from '../util/channel.ts';
import type { Context } from './context.ts';
import { Scheduler } from './scheduler.ts';
import type { GenerateEvent, GenerateRequest } from './types.ts';

/**
 * Generates from `req.prompt` on `ctx`, reusing the prefix it already holds. Errors are thrown from the
 * iterator; an abort throws the signal's reason. Breaking out of the loop stops the generation.
 */
export async function* generate(ctx: Context, req: GenerateRequest, signal?: AbortSignal): AsyncGenerator<GenerateEvent> {
  const { prompt } = req;
  if (prompt.length === 0) throw new HearthError('invalid_argument', 'the prompt is empty: give at least one token');
  if (prompt.length >= ctx.nCtx) {
    throw new HearthError('context_length_exceeded',
      `the prompt is ${prompt.length} tokens; the context holds ${ctx.nCtx} (with room for at least one generated token)`);
  }
  const maxTokens = req.maxTokens ?? Infinity;
  if (!(maxTokens >= 0)) throw new HearthError('invalid_argument', `maxTokens must be >= 0, got ${req.maxTokens}`);
  signal?.throwIfAborted();

  const scheduler = new Scheduler(ctx.model, { parallel: 1, queueLimit: 0 }, [ctx]);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const events = new Channel<GenerateEvent>();
  events.onReturn = () => stop.abort();
  try {
    scheduler.submit([{ ...req, signal: stop.signal }], (_, ev) => {
      if (ev.type === 'error') return events.end(ev.error);
      events.push(ev);
      if (ev.type === 'done') events.end();
    });
    for await (const ev of events) {
      yield ev;
      signal?.throwIfAborted();
    }
  } catch (e) {
    signal?.throwIfAborted();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
