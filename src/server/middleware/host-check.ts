// DNS rebinding defence, as Ollama's: a page on evil.example can point that name at 127.0.0.1 and then call a
// server on this machine as "same origin", with no Origin header and its own name in Host. So when the server
// listens on a loopback address, a request whose Host is not a name of this machine is refused (403): localhost
// and *.localhost, the loopback addresses (127.0.0.0/8, [::1]), this machine's hostname, and the names that
// --allowed-hosts adds (".example.com" also allows its subdomains; "*" turns the check off). A request without
// Host (HTTP/1.0) is not from a browser and passes. On any other address (0.0.0.0, a LAN address) the server is
// meant to be reached by other names, keys are on, and Host is not checked.

import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { HearthError } from '../../util/errors.ts';

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return /^::ffff:127\./i.test(h);
}

export interface HostPolicy {
  /** "*": no check. */
  any: boolean;
  /** Names allowed besides this machine's (lower case; a leading "." allows subdomains too). */
  names: readonly string[];
}

/** Checks --allowed-hosts at startup: host names (letters, digits, "-", "."; a leading "." for subdomains), IPs, or "*". */
export function checkAllowedHosts(names: readonly string[]): HostPolicy {
  for (const n of names) {
    if (n === '*' || isIP(n.replace(/^\[|\]$/g, ''))) continue;
    if (!/^\.?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/i.test(n)) {
      throw new HearthError('invalid_argument', `--allowed-hosts "${n}" is not a host name such as myhost.lan or .example.com (no scheme, no port)`);
    }
  }
  return { any: names.includes('*'), names: names.map((n) => n.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '')) };
}

/** The host name of a Host header value, without port, brackets or a trailing dot, in lower case. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']') < 0 ? h.length : h.indexOf(']')) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

export function hostAllowed(policy: HostPolicy, header: string | undefined): boolean {
  if (policy.any || header === undefined || header === '') return true;
  const name = hostName(header);
  if (name === 'localhost' || name.endsWith('.localhost') || isLoopback(name)) return true;
  if (name === hostname().toLowerCase()) return true;
  return policy.names.some((n) => n === name || (n.startsWith('.') && (name.endsWith(n) || name === n.slice(1))));
}

/** For the security plugin's onRequest: refuses a foreign Host on a server that listens on loopback. */
export function hostCheck(policy: HostPolicy): (request: FastifyRequest) => void {
  let loopback: boolean | undefined;
  return (request) => {
    // The listening address is fixed once the server listens; a server not listening (inject) checks.
    loopback ??= listeningOnLoopback(request);
    if (!loopback) return;
    const header = request.headers.host;
    if (hostAllowed(policy, header)) return;
    const name = hostName(header!);
    throw new HearthError('forbidden', `Host ${JSON.stringify(header)} is not a name of this machine: a server listening on loopback ` +
      `answers only localhost, 127.0.0.1, [::1] and ${hostname()} (a guard against DNS rebinding); start it with --allowed-hosts ${name} to allow that name`);
  };
}

function listeningOnLoopback(request: FastifyRequest): boolean {
  const address = request.server.server.address() as AddressInfo | string | null;
  if (address === null) return true;
  if (typeof address === 'string') return true; // a Unix socket: only this machine can reach it
  return isLoopback(address.address);
}
