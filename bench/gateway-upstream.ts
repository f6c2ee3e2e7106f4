// A stand-in OpenAI-compatible upstream for bench/gateway.ts: POST /v1/chat/completions answers at once with
// max_tokens one-word tokens, streamed (SSE, usage last) or as one JSON object; a model named "paced-N" waits N ms
// between tokens (to hold many streams open at once). GET /v1/models lists "fast". Prints its port on stdout.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.setHeader('content-type', 'application/json');
    return res.end('{"object":"list","data":[{"id":"fast","object":"model"}]}');
  }
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { model: string; max_tokens?: number; max_completion_tokens?: number; stream?: boolean };
    const n = body.max_tokens ?? body.max_completion_tokens ?? 16;
    const pace = /^paced-(\d+)$/.exec(body.model)?.[1];
    const usage = { prompt_tokens: 4, completion_tokens: n, total_tokens: n + 4 };
    const base = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 0, model: body.model };
    if (!body.stream) {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion', created: 0, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: ' tok'.repeat(n) }, finish_reason: 'length' }], usage }));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const frame = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;
    res.write(frame({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }));
    let i = 0;
    const tail = () => {
      res.write(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'length' }] }));
      res.write(frame({ ...base, choices: [], usage }));
      res.end('data: [DONE]\n\n');
    };
    const tick = () => {
      if (i >= n) return tail();
      i++;
      const more = res.write(frame({ ...base, choices: [{ index: 0, delta: { content: ' tok' }, finish_reason: null }] }));
      if (pace) setTimeout(tick, Number(pace));
      else if (more) tick();
      else res.once('drain', tick);
    };
    tick();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
