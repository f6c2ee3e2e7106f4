import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createImageFetcher, isBlockedAddress } from './image-fetch.ts';
import { isHearthError } from '../util/errors.ts';

test('loopback, private, link-local, shared, multicast and reserved addresses are blocked; public ones are not', () => {
  for (const a of ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
    '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
    assert.equal(isBlockedAddress(a), true, a);
  }
  for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isBlockedAddress(a), false, a);
});

test('URLs to blocked addresses, by literal or by a name that resolves there, are refused before connecting', async () => {
  let hits = 0;
  const srv = createServer((_, res) => { hits++; res.end('x'); });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  try {
    const fetchImage = createImageFetcher();
    for (const url of [`http://127.0.0.1:${port}/a.png`, `http://localhost:${port}/a.png`, `http://[::1]:${port}/a.png`, 'http://169.254.169.254/latest',
      'ftp://example.com/a.png', `http://user:pw@127.0.0.1:${port}/`]) {
      await assert.rejects(fetchImage(url), (e) => isHearthError(e, 'invalid_image'), url);
    }
    assert.equal(hits, 0);
  } finally {
    srv.close();
  }
});

test('an allowed address is fetched; redirects, error statuses and bodies over the limit are refused', async () => {
  const srv = createServer((req, res) => {
    if (req.url === '/img') res.end(Buffer.from([1, 2, 3, 4]));
    else if (req.url === '/big') res.end(Buffer.alloc(2048));
    else if (req.url === '/moved') { res.statusCode = 302; res.setHeader('location', '/img'); res.end(); }
    else { res.statusCode = 404; res.end(); }
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  try {
    const fetchImage = createImageFetcher({ blocked: () => false, maxBytes: 1024 });
    assert.deepEqual([...await fetchImage(`http://127.0.0.1:${port}/img`)], [1, 2, 3, 4]);
    assert.deepEqual([...await fetchImage(`http://localhost:${port}/img`)], [1, 2, 3, 4]);
    await assert.rejects(fetchImage(`http://127.0.0.1:${port}/moved`), /redirects are not followed/);
    await assert.rejects(fetchImage(`http://127.0.0.1:${port}/nope`), /answered 404/);
    await assert.rejects(fetchImage(`http://127.0.0.1:${port}/big`), /more than 1024/);
  } finally {
    srv.close();
  }
});
