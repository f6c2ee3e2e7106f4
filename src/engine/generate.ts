// The generation loop: prompt (with prefix reuse) -> sample -> detokenize -> stop strings -> events.

import { HearthError } from '../util/errors.ts';
import type { Context } from './context.ts';
import { createSampler } from './sampler/index.ts';
import { StopMatcher } from './stop.ts';
import type { GenerateEvent, GenerateRequest, FinishReason } from './types.ts';

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Length of the common prefix of two token lists. */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export async function* generate(ctx: Context, req: GenerateRequest, signal?: AbortSignal): AsyncGenerator<GenerateEvent> {
  const { prompt } = req;
  const tokenizer = ctx.model.tokenizer;
  if (prompt.length === 0) throw new HearthError('invalid_argument', 'the prompt is empty: give at least one token');
  if (prompt.length >= ctx.nCtx) {
    throw new HearthError('context_length_exceeded',
      `the prompt is ${prompt.length} tokens; the context holds ${ctx.nCtx} (with room for at least one generated token)`);
  }
  const maxTokens = req.maxTokens ?? Infinity;
  if (!(maxTokens >= 0)) throw new HearthError('invalid_argument', `maxTokens must be >= 0, got ${req.maxTokens}`);

  // Reuse the cached prefix; at least the last prompt token is evaluated again to get its logits.
  const t0 = performance.now();
  const keep = Math.min(commonPrefix(ctx.tokens, prompt), prompt.length - 1);
  ctx.truncate(keep);
  signal?.throwIfAborted();
  let logits = ctx.eval(prompt.slice(keep));
  const promptMs = performance.now() - t0;

  const sampler = createSampler(req.sampling ?? {});
  for (const id of prompt) sampler.accept(id);
  const decoder = tokenizer.createStreamDecoder();
  const stops = new StopMatcher(req.stop ?? []);
  const stopAtEog = req.stopAtEog ?? true;
  let generated = 0;
  let reason: FinishReason = 'length';
  const t1 = performance.now();

  while (generated < maxTokens) {
    const id = sampler.sample(logits);
    sampler.accept(id);
    if (stopAtEog && tokenizer.isEog(id)) {
      reason = 'eog';
      break;
    }
    generated++;
    const { emit, stopped } = stops.push(decoder.push(id));
    yield { type: 'token', id, text: emit };
    if (stopped) {
      reason = 'stop';
      break;
    }
    // prompt + generated tokens never exceed the context window
    if (generated >= maxTokens || ctx.nPast + 1 >= ctx.nCtx) break;
    await yieldToLoop();
    signal?.throwIfAborted();
    logits = ctx.eval([id]);
  }
  if (reason !== 'stop') {
    const tail = stops.push(decoder.flush());
    const rest = tail.stopped ? tail.emit : tail.emit + stops.flush();
    if (tail.stopped) reason = 'stop';
    if (rest) yield { type: 'text', text: rest };
  }
  yield {
    type: 'done',
    reason,
    usage: { promptTokens: prompt.length, completionTokens: generated },
    timings: { promptMs, generateMs: performance.now() - t1 },
  };
}
