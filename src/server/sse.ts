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
