// Where a model's vision encoder (an mmproj GGUF) is found without --mmproj: `NAME.mmproj.gguf` beside `NAME.gguf`
// (what hearth pull writes when a Hugging Face repo ships one, as llama.cpp's -hf fetches it; a file dropped in the
// same way works too), or, in a folder that holds one model, the one `mmproj*.gguf` beside it (a repo downloaded
// as a folder). mmproj files are never models of the library themselves.

import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const SPLIT = /-\d{5}-of-\d{5}$/i;

/** An mmproj file by its name: NAME.mmproj.gguf, or mmproj*.gguf as the Hub's repos name them. */
export function isMmprojFile(path: string): boolean {
  const f = basename(path).toLowerCase();
  return f.endsWith('.gguf') && (f.endsWith('.mmproj.gguf') || f.startsWith('mmproj'));
}

/** The name the encoder of `modelPath` has beside it: its stem (a split model's, without -0000i-of-0000N) + .mmproj.gguf. */
export function mmprojPathFor(modelPath: string): string {
  const stem = basename(modelPath).replace(/\.gguf$/i, '').replace(SPLIT, '');
  return join(dirname(modelPath), `${stem}.mmproj.gguf`);
}

/** The vision encoder beside a model file, if there is one (see the top of this file). */
export function mmprojBeside(modelPath: string): string | undefined {
  const named = mmprojPathFor(modelPath);
  if (existsSync(named)) return named;
  let files: string[];
  try {
    files = readdirSync(dirname(modelPath)).filter((f) => f.toLowerCase().endsWith('.gguf'));
  } catch {
    return undefined;
  }
  const stem = (f: string) => f.replace(/\.gguf$/i, '').replace(SPLIT, '').toLowerCase();
  const encoders = files.filter((f) => isMmprojFile(f));
  const models = new Set(files.filter((f) => !isMmprojFile(f)).map(stem));
  return encoders.length === 1 && models.size === 1 && models.has(stem(basename(modelPath))) ? join(dirname(modelPath), encoders[0]!) : undefined;
}

/**
 * The mmproj a repo listing offers for a model: files in the model's folder first, then by precision — the model's
 * own quant tag, then F16, BF16, F32, Q8_0 — else the first by name. Undefined when the repo has none.
 */
export function pickMmproj(paths: readonly string[], modelPath: string, quant?: string): string | undefined {
  const dir = modelPath.slice(0, modelPath.length - basename(modelPath).length);
  const candidates = paths.filter((p) => basename(p).toLowerCase().startsWith('mmproj') && p.toLowerCase().endsWith('.gguf'));
  if (candidates.length === 0) return undefined;
  const tag = (p: string, t: string) => new RegExp(`(^|[^a-z0-9])${t.toLowerCase().replace(/[^a-z0-9]/g, '[-_.]?')}($|[^a-z0-9])`, 'i').test(basename(p).slice(0, -5));
  const prefs = [...(quant ? [quant] : []), 'F16', 'BF16', 'F32', 'Q8_0'];
  const rank = (p: string) => {
    const i = prefs.findIndex((t) => tag(p, t));
    return (p.startsWith(dir) && !p.slice(dir.length).includes('/') ? 0 : 100) + (i < 0 ? prefs.length : i);
  };
  return [...candidates].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))[0];
}
