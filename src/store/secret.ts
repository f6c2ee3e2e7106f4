// API key secrets: "hth_" + 32 random bytes in base62 (43 characters: no punctuation, so a double-click
// selects all of it). Only the SHA-256 of a secret is stored; a key is found by its first characters (the
// prefix) and then compared by hash in constant time.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'hth_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 62^43 > 2^256: 43 base62 digits hold any 32 bytes. */
const BODY_LENGTH = 43;
/** Characters of the body kept in the prefix: 47 bits, enough to find one key among millions. */
const PREFIX_BODY = 8;
const SECRET_RE = /^hth_[0-9A-Za-z]{43}$/;

export function base62(bytes: Uint8Array, length: number): string {
  let n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, '0');
}

/** A new secret. */
export function newSecret(): string {
  return SECRET_PREFIX + base62(randomBytes(32), BODY_LENGTH);
}

/** Whether `s` has the shape of a hearth secret (says nothing about whether it exists). */
export function isWellFormed(s: string): boolean {
  return SECRET_RE.test(s);
}

/** The part of a secret stored in clear and shown in listings, e.g. "hth_7GQx2bKp". */
export function secretPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + PREFIX_BODY);
}

export function secretHash(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** Constant-time comparison of two SHA-256 digests. */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
