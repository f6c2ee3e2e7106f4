// Template expansion for WGSL: `{{NAME}}` placeholders filled from a table. A placeholder left unfilled is a bug
// in the caller, caught here rather than as a shader compile error deep inside Dawn.

import { HearthError } from '../../../util/errors.ts';

export function expand(template: string, vars: Readonly<Record<string, string | number>>): string {
  const out = template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new HearthError('internal', `WGSL template: no value for {{${k}}}`);
    return typeof v === 'number' ? wgslNumber(v) : v;
  });
  return out;
}

/** Integers as u32 literals ('32u'), everything else as f32 literals. */
function wgslNumber(v: number): string {
  if (Number.isInteger(v) && v >= 0) return `${v}u`;
  return `${v}f`;
}

/** The `enable` lines a shader needs for the device's features. */
export function enables(opts: { f16?: boolean; subgroups?: boolean }): string {
  return (opts.f16 ? 'enable f16;\n' : '') + (opts.subgroups ? 'enable subgroups;\n' : '');
}
