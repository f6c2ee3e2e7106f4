// A TCP proxy in front of a real upstream, whose behaviour a test switches: pass bytes through, refuse (close at
// once), hang (accept and never answer), answer 429 with Retry-After, answer with a canned status and body, or pass
// the answer through and cut the connection after a number of its bytes. It counts the connections it accepted.

import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'refuse' }
  | { kind: 'hang' }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body: string }
  | { kind: 'cut'; afterBytes: number };

export interface TcpProxy {
  base: string;
  mode: ProxyMode;
  connections: number;
  /** When the last cut happened (performance.now()). */
  cutAt: number | undefined;
  close(): Promise<void>;
}

export async function startProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: TcpProxy = {
    base: '', mode: { kind: 'pass' }, connections: 0, cutAt: undefined,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
  const server = net.createServer((client) => {
    proxy.connections++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    const mode = proxy.mode;
    if (mode.kind === 'refuse') return client.destroy();
    if (mode.kind === 'hang') return client.resume();
    if (mode.kind === 'status') {
      // answer every request on the connection once its headers (and a body, if any) have arrived
      client.on('data', () => {
        // the mode now, for a kept-alive connection
        const m = proxy.mode.kind === 'status' ? proxy.mode : mode;
        const head = Object.entries({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(m.body)), ...m.headers })
          .map(([k, v]) => `${k}: ${v}\r\n`).join('');
        client.write(`HTTP/1.1 ${m.status} X\r\n${head}\r\n${m.body}`);
      });
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    if (mode.kind === 'pass') {
      upstream.pipe(client);
      return;
    }
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      const room = mode.afterBytes - sent;
      if (room <= 0) return;
      client.write(chunk.subarray(0, room));
      sent += Math.min(room, chunk.length);
      if (sent >= mode.afterBytes) {
        proxy.cutAt = performance.now();
        upstream.destroy();
        client.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
