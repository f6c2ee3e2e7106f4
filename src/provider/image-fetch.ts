// Image URLs of requests, fetched only when the server runs with --allow-image-urls: http(s) only, never to a
// loopback, private, link-local, shared, multicast or otherwise reserved address. The address check runs in the
// connection's own DNS lookup (and on literal addresses before connecting), so a name that resolves elsewhere later
// (DNS rebinding) is checked where it is used. No redirects; at most `maxBytes`, within `timeoutMs`.

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP } from 'node:net';
import { HearthError } from '../util/errors.ts';

export interface ImageFetchOptions {
  maxBytes?: number;
  timeoutMs?: number;
  /** Which addresses are refused (default isBlockedAddress; tests on loopback replace it). */
  blocked?: (address: string) => boolean;
}

export type ImageFetcher = (url: string) => Promise<Uint8Array>;

const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) BLOCKED.addSubnet(net, prefix, 'ipv6');

/** True for an address an image URL may not reach (IPv4-mapped IPv6 addresses are checked as IPv4). */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1], 'ipv4');
  if (/^::ffff:/i.test(address)) return true;
  return BLOCKED.check(address, 'ipv6');
}

function refused(url: string, why: string): HearthError {
  return new HearthError('invalid_image', `image URL ${url}: ${why}`);
}

/** A connection lookup that resolves the name and refuses it when any of its addresses is blocked. */
const checkedLookup = (blocked: (address: string) => boolean) => (hostname: string, options: { all?: boolean; family?: number },
  cb: (...a: unknown[]) => void): void => {
  dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addrs: LookupAddress[]) => {
    if (err) return cb(err);
    const bad = addrs.find((a) => blocked(a.address));
    if (bad || addrs.length === 0) return cb(new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, which image URLs may not reach`));
    if (options.all) return cb(null, addrs);
    cb(null, addrs[0].address, addrs[0].family);
  });
};

export function createImageFetcher(o: ImageFetchOptions = {}): ImageFetcher {
  const maxBytes = o.maxBytes ?? 20 << 20;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const blocked = o.blocked ?? isBlockedAddress;
  const lookup = checkedLookup(blocked);
  return (url) => new Promise<Uint8Array>((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return reject(refused(url, 'not a URL'));
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return reject(refused(url, 'only http and https URLs are fetched'));
    if (u.username || u.password) return reject(refused(url, 'credentials in the URL are not allowed'));
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && blocked(host)) return reject(refused(url, `the address ${host} is loopback, private, link-local or reserved`));
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: 'GET', lookup: lookup as never, timeout: timeoutMs },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(refused(url, `the server answered ${res.statusCode}${res.statusCode && res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed)' : ''}`));
        }
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > maxBytes) {
          res.destroy();
          return reject(refused(url, `the image is ${declared} bytes, more than ${maxBytes}`));
        }
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            res.destroy();
            reject(refused(url, `the image is more than ${maxBytes} bytes`));
          } else chunks.push(c);
        });
        res.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
        res.on('error', (e) => reject(refused(url, e.message)));
      });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(refused(url, e.message)));
    req.end();
  });
}
