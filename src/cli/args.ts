// Small wrappers over node:util parseArgs: typed numbers with clear errors.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HearthError } from '../util/errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true } as const);
  } catch (e) {
    throw new HearthError('invalid_argument', (e as Error).message);
  }
}

export function num(v: unknown, flag: string, check: (n: number) => boolean = Number.isFinite): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !check(n)) {
    throw new HearthError('invalid_argument', `${flag}: "${String(v)}" is not a valid value`);
  }
  return n;
}

export const int = (v: unknown, flag: string, min = 0) => num(v, flag, (n) => Number.isInteger(n) && n >= min);
