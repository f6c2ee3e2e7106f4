// Hearth packs a matmul's activations the way llama.cpp's x86 CPU code does (src/quant/activations.ts).
// This checks that claim against ggml itself, per CPU library of the reference binary: each library's
// quantize_row_q8_0 / q8_1 / q8_K and ggml_cpu_fp32_to_bf16 run on the same floats, and each result must be
// either Hearth's packing byte for byte, or ggml's portable reference packing (libggml-base.so's *_ref).
// Which libraries use which is printed: it is what the parity bounds of test/parity/ must allow for (a
// library on the reference path rounds some activations to the neighbouring integer, see
// test/parity/bounds.ts), and a library matching neither would be a packing nobody has accounted for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GGMLType } from '../../src/gguf/ggml-types.ts';
import { quantizeActivations } from '../../src/quant/index.ts';
import { requireReference } from './client.ts';
import { shippedCpuVariants } from './cpu-variant.ts';
import { ggmlHarnessUnavailable, ggmlPack, packingProbe, type PackOp } from './ggml-cpu.ts';

const OPS: Array<{ op: PackOp; type: number }> = [
  { op: 'q8_0', type: GGMLType.Q8_0 },
  { op: 'q8_1', type: GGMLType.Q8_1 },
  { op: 'q8_K', type: GGMLType.Q8_K },
  { op: 'bf16', type: GGMLType.BF16 },
];

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

test("Hearth's activation packing is ggml's, per CPU library of the reference", (t) => {
  if (!requireReference(t)) return;
  const why = ggmlHarnessUnavailable();
  if (why) {
    if (process.env.HEARTH_REQUIRE_REFERENCE === '1') assert.fail(`${why} (HEARTH_REQUIRE_REFERENCE=1)`);
    t.skip(why);
    return;
  }
  const x = packingProbe();
  const rows: string[] = [];
  const byOp = new Map<PackOp, { hearth: string[]; reference: string[] }>();
  let ran = 0;
  for (const { op, type } of OPS) {
    const hearth = quantizeActivations(type, x);
    const ref = ggmlPack('x64', `${op}_ref` as PackOp, x)!;
    const seen = { hearth: [] as string[], reference: [] as string[] };
    byOp.set(op, seen);
    for (const variant of shippedCpuVariants()) {
      const got = ggmlPack(variant, op, x);
      if (got === null) continue; // this CPU cannot run that library
      ran++;
      const kind = equal(got, hearth) ? 'hearth' : equal(got, ref) ? 'reference' : undefined;
      assert.ok(kind, `${variant} ${op}: ggml's packing is neither Hearth's nor ggml's reference one`);
      seen[kind].push(variant);
    }
    const same = equal(hearth, ref);
    rows.push(`${op}: Hearth's packing ${same ? 'equals' : 'differs from'} ggml's reference; ` +
      `libraries packing as Hearth: ${seen.hearth.join(', ') || '-'}; as the reference: ${seen.reference.join(', ') || '-'}`);
  }
  for (const r of rows) t.diagnostic(r);
  assert.ok(ran > 0, 'no CPU library of the reference runs on this CPU');
  // The claim of src/quant/activations.ts: every AVX-capable x86 library packs Q8_0 / Q8_1 as Hearth does.
  for (const v of ['sandybridge', 'haswell', 'skylakex', 'icelake', 'zen4']) {
    for (const op of ['q8_0', 'q8_1'] as const) {
      if (byOp.get(op)!.reference.includes(v)) assert.fail(`${v} ${op} packs with the reference rounding, not the x86 SIMD one Hearth emulates`);
    }
  }
});
