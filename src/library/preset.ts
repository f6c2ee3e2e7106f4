// A preset's parts as people write them: Ollama's parameter names (checked as the server's /api/generate checks
// its `options`, src/api/ollama/options.ts), the Modelfile (FROM, SYSTEM, PARAMETER), and the text forms that
// `hearth show` and /api/show print.

import { HearthError } from '../util/errors.ts';
import type { ModelPreset } from './types.ts';

interface Rule {
  kind: 'number' | 'integer' | 'boolean' | 'strings';
  min?: number;
  max?: number;
  minExclusive?: boolean;
}

/** The parameters a preset may set, with the values the server accepts for each. */
export const PRESET_PARAMETERS: Readonly<Record<string, Rule>> = {
  temperature: { kind: 'number', min: 0 },
  top_k: { kind: 'integer', min: 0 },
  top_p: { kind: 'number', min: 0, max: 1 },
  min_p: { kind: 'number', min: 0, max: 1 },
  typical_p: { kind: 'number', min: 0, max: 1, minExclusive: true },
  repeat_penalty: { kind: 'number', min: 0, minExclusive: true },
  repeat_last_n: { kind: 'integer', min: -1 },
  presence_penalty: { kind: 'number' },
  frequency_penalty: { kind: 'number' },
  seed: { kind: 'integer' },
  num_ctx: { kind: 'integer', min: 1 },
  num_predict: { kind: 'integer', min: -2 },
  stop: { kind: 'strings' },
  mirostat: { kind: 'integer', min: 0, max: 2 },
  mirostat_tau: { kind: 'number' },
  mirostat_eta: { kind: 'number' },
  num_keep: { kind: 'integer' },
  penalize_newline: { kind: 'boolean' },
};

function bad(key: string, why: string): HearthError {
  return new HearthError('invalid_argument', `parameter ${key}: ${why}`);
}

function checkValue(key: string, v: unknown): unknown {
  const rule = PRESET_PARAMETERS[key];
  if (!rule) {
    throw new HearthError('invalid_argument', `unknown parameter "${key}"; a preset may set ${Object.keys(PRESET_PARAMETERS).join(', ')}`);
  }
  if (rule.kind === 'strings') {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((s) => typeof s !== 'string' || s === '')) throw bad(key, 'must be a non-empty string or a list of them');
    return [...list];
  }
  if (rule.kind === 'boolean') {
    if (typeof v !== 'boolean') throw bad(key, `must be true or false; got ${JSON.stringify(v)}`);
    return v;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(key, `must be a number; got ${JSON.stringify(v)}`);
  if (rule.kind === 'integer' && !Number.isInteger(v)) throw bad(key, `must be an integer; got ${v}`);
  if (rule.min !== undefined && (rule.minExclusive ? v <= rule.min : v < rule.min)) {
    throw bad(key, `must be ${rule.minExclusive ? '>' : '>='} ${rule.min}; got ${v}`);
  }
  if (rule.max !== undefined && v > rule.max) throw bad(key, `must be <= ${rule.max}; got ${v}`);
  return v;
}

/** Checks a parameters object (typed JSON values, as /api/create sends them); a copy with `stop` as a list. */
export function checkParameters(params: unknown): Record<string, unknown> {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new HearthError('invalid_argument', 'parameters must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) out[k] = checkValue(k, v);
  return out;
}

/** One parameter written as text (`--param k=v`, a Modelfile's `PARAMETER k v`), typed and checked. */
export function parseParameter(key: string, text: string): unknown {
  const rule = PRESET_PARAMETERS[key];
  if (!rule) return checkValue(key, text);
  if (rule.kind === 'strings') return checkValue(key, unquote(text));
  if (rule.kind === 'boolean') {
    if (text !== 'true' && text !== 'false') throw bad(key, `must be true or false; got ${JSON.stringify(text)}`);
    return text === 'true';
  }
  const n = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(n)) throw bad(key, `must be a number; got ${JSON.stringify(text)}`);
  return checkValue(key, n);
}

/** Adds a text parameter to `into`; repeated `stop` lines add stop strings. */
export function addParameter(into: Record<string, unknown>, key: string, text: string): void {
  const v = parseParameter(key, text);
  if (key === 'stop' && Array.isArray(into.stop)) into.stop = [...(into.stop as string[]), ...(v as string[])];
  else into[key] = v;
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try { return JSON.parse(t) as string; } catch { return t.slice(1, -1); }
  }
  return t;
}

/** Ollama's text form of parameters: one "name value" line each (strings quoted, one line per stop string). */
export function parametersText(params: Record<string, unknown> | undefined): string {
  if (!params) return '';
  const lines: string[] = [];
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k} ${typeof one === 'string' ? JSON.stringify(one) : String(one)}`);
  }
  return lines.join('\n');
}

/** A Modelfile of FROM, SYSTEM and PARAMETER lines that `hearth create --file` reads back. */
export function modelfileText(from: string, preset: ModelPreset | undefined): string {
  let out = `# Modelfile generated by "hearth show"\nFROM ${from}\n`;
  if (preset?.system !== undefined) out += `SYSTEM """${preset.system}"""\n`;
  const params = parametersText(preset?.parameters);
  if (params) out += params.split('\n').map((l) => `PARAMETER ${l}\n`).join('');
  return out;
}

const UNSUPPORTED = new Set(['ADAPTER', 'TEMPLATE', 'MESSAGE', 'LICENSE', 'REQUIRES']);

/** Reads a Modelfile: FROM, SYSTEM (one line, or a """ block), PARAMETER name value; # comments. */
export function parseModelfile(text: string): { from?: string; system?: string; parameters: Record<string, unknown> } {
  const out: { from?: string; system?: string; parameters: Record<string, unknown> } = { parameters: {} };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(line)!;
    const word = m[1]!.toUpperCase();
    let rest = m[2]!;
    if (rest.startsWith('"""')) {
      // A block: up to the next """, over as many lines as it takes.
      let body = rest.slice(3);
      let line0 = i + 1;
      while (!body.includes('"""')) {
        if (i + 1 >= lines.length) throw new HearthError('invalid_argument', `Modelfile line ${line0}: ${word} """ is never closed`);
        body += `\n${lines[++i]!}`;
      }
      const end = body.indexOf('"""');
      if (body.slice(end + 3).trim() !== '') throw new HearthError('invalid_argument', `Modelfile line ${i + 1}: text after the closing """`);
      rest = body.slice(0, end);
      line0 = 0;
    } else if (rest.length >= 2 && rest.startsWith('"') && rest.endsWith('"') && word !== 'PARAMETER') {
      rest = unquote(rest);
    }
    if (word === 'FROM') {
      if (!rest.trim()) throw new HearthError('invalid_argument', `Modelfile line ${i + 1}: FROM needs a model name`);
      out.from = rest.trim();
    } else if (word === 'SYSTEM') {
      out.system = rest;
    } else if (word === 'PARAMETER') {
      const p = /^(\S+)\s+([\s\S]+)$/.exec(rest.trim());
      if (!p) throw new HearthError('invalid_argument', `Modelfile line ${i + 1}: PARAMETER needs a name and a value`);
      addParameter(out.parameters, p[1]!.toLowerCase(), p[2]!);
    } else if (UNSUPPORTED.has(word)) {
      throw new HearthError('unsupported_field', `Modelfile line ${i + 1}: ${word} is not supported by hearth (a preset is FROM, SYSTEM and PARAMETER lines)`);
    } else {
      throw new HearthError('invalid_argument', `Modelfile line ${i + 1}: unknown instruction ${m[1]}; hearth reads FROM, SYSTEM and PARAMETER`);
    }
  }
  return out;
}
