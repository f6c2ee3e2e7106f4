// Slow and idle clients against the connection limits, with raw sockets: a request whose headers or body stall is
// answered 408 and closed; an idle keep-alive connection closes; the connection past the per-address cap is closed on
// accept; and a generation that runs longer than every timeout is not cut.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startServer, type TestServer } from './harness.ts';

const LIMITS = { headersMs: 300, bodyMs: 600, idleMs: 300, perAddress: 4 };
let srv: TestServer;
let port: number;
before(async () => {
  srv = await startServer({ parallel: 2, app: { connections: LIMITS } });
  port = Number(new URL(srv.base).port);
});
after(() => srv.close());

/** A raw connection; `closed` resolves with what the server sent and how long after opening it closed. */
function open(): Promise<{ socket: Socket; closed: Promise<{ data: string; ms: number }> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', () => {});
    const closed = new Promise<{ data: string; ms: number }>((res) => socket.on('close', () => res({ data, ms: performance.now() - t0 })));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what}: still open after ${ms} ms`)), ms))]);

test('headers that never finish: 408 and closed after the header timeout', async () => {
  const c = await open();
  c.socket.write('POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: app');
  const { data, ms } = await within(c.closed, 3000, 'partial headers');
  assert.match(data, /^HTTP\/1\.1 408/);
  assert.ok(ms >= LIMITS.headersMs * 0.9, `closed after ${ms} ms`);
});

test('a body that stops half way: 408 and closed after the body timeout, whether or not a key is sent', async () => {
  for (const auth of ['', 'Authorization: Bearer hth_x\r\n']) {
    const c = await open();
    c.socket.write(`POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n${auth}Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`);
    const t0 = performance.now();
    const timer = setInterval(() => c.socket.write(' '), 100); // trickling bytes does not keep it open
    try {
      const { data } = await within(c.closed, 3000, 'partial body');
      assert.match(data, /^HTTP\/1\.1 408/);
      assert.ok(performance.now() - t0 >= LIMITS.bodyMs * 0.5);
    } finally {
      clearInterval(timer);
    }
  }
});

test('an idle keep-alive connection closes after the idle timeout', async () => {
  const c = await open();
  c.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
  const { data, ms } = await within(c.closed, 3000, 'idle keep-alive');
  assert.match(data, /^HTTP\/1\.1 200/);
  assert.ok(ms >= LIMITS.idleMs * 0.9, `closed after ${ms} ms`);
});

test('the connection past the per-address cap is closed at once; with one closed, a new one is served', async () => {
  const held = await Promise.all(Array.from({ length: LIMITS.perAddress }, () => open()));
  const refused = await open();
  const r = await within(refused.closed, 1000, 'the extra connection');
  assert.equal(r.data, '');
  for (const c of held) c.socket.destroy();
  await Promise.all(held.map((c) => c.closed));
  const ok = await fetch(srv.base + '/health');
  assert.equal(ok.status, 200);
});

test('a generation that outlasts every timeout is written to its end', async () => {
  const t0 = performance.now();
  const [streamed, whole] = await Promise.all([
    fetch(srv.base + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 1900, stream: true, logit_bias: { 2: -100 } }) }).then((r) => r.text()),
    fetch(srv.base + '/v1/completions', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 1900, logit_bias: { 2: -100 } }) }).then((r) => r.json()),
  ]);
  const ms = performance.now() - t0;
  assert.match(streamed, /"finish_reason":"length"[\s\S]*data: \[DONE\]/);
  assert.equal((whole as { choices: { finish_reason: string }[] }).choices[0].finish_reason, 'length');
  assert.ok(ms > LIMITS.bodyMs, `the generations took only ${ms} ms; the test needs them to outlast the timeouts`);
});
