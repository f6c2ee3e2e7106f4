// Stream framing: server-sent events (OpenAI: data lines ending in [DONE]; Anthropic: named events) and
// newline-delimited JSON (Ollama).

export type StreamFormat = 'sse' | 'ndjson';

export const sseData = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
export const sseEvent = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
export const SSE_DONE = 'data: [DONE]\n\n';
export const ndjsonLine = (data: unknown): string => `${JSON.stringify(data)}\n`;

export const STREAM_HEADERS: Record<StreamFormat, Record<string, string>> = {
  sse: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  ndjson: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
};

const IDLE = Symbol('idle');
const ignore = (): void => undefined;

/**
 * The frames of a stream, joined while more are ready at once: every frame already produced when one is taken
 * (those of one upstream chunk, or a burst) goes out in one write instead of one write each. A frame that is not
 * ready by the next turn of the event loop is not waited for, so nothing is held back; frames taken before a
 * failure of the source still go out before it.
 */
export async function* coalesce(frames: AsyncIterable<string>): AsyncGenerator<string> {
  const it = frames[Symbol.asyncIterator]();
  let finished = false;
  const take = () => {
    const p = it.next();
    p.catch(ignore); // awaited below; a consumer that stops first must not leave it unhandled
    return p;
  };
  try {
    let next = take();
    for (;;) {
      const first = await next;
      if (first.done) { finished = true; return; }
      let out = first.value;
      let failure: { error: unknown } | undefined;
      for (;;) {
        next = take();
        let ready: IteratorResult<string> | typeof IDLE;
        try {
          ready = await Promise.race([next, new Promise<typeof IDLE>((resolve) => setImmediate(resolve, IDLE))]);
        } catch (error) {
          failure = { error };
          break;
        }
        if (ready === IDLE) break;
        if (ready.done) { finished = true; break; }
        out += ready.value;
      }
      yield out;
      if (failure) { finished = true; throw failure.error; }
      if (finished) return;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}
