// Reads tokenizer.json (and tokenizer_config.json beside it when present) into a Tokenizer.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HearthError } from '../../util/errors.ts';
import { HFTokenizer } from './hf-tokenizer.ts';

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new HearthError('not_found', `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new HearthError('tokenizer_invalid', `${path} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HearthError('tokenizer_invalid', `${path}: expected a JSON object`);
  return v as Record<string, unknown>;
}

/** Builds a tokenizer from parsed tokenizer.json / tokenizer_config.json objects. */
export function tokenizerFromHFJson(json: Record<string, unknown>, config: Record<string, unknown> = {}): HFTokenizer {
  return new HFTokenizer(json, config);
}

export function loadHFTokenizer(path: string): HFTokenizer {
  const json = readJson(path);
  const cfgPath = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(cfgPath) ? readJson(cfgPath) : {};
  try {
    return new HFTokenizer(json, config);
  } catch (e) {
    if (e instanceof HearthError && e.code === 'tokenizer_invalid') {
      throw new HearthError('tokenizer_invalid', `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
