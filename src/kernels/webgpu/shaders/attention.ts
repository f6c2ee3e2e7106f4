// Causal attention over a GPU-resident KV cache, and the kernel that appends K/V rows to it.
// Same math as src/kernels/ref/attention.ts: scores q.k * scale over positions 0..pos0+t, softmax, weighted sum
// of V; with an f16 cache the query and the softmax weights are rounded to half before their products.
// One workgroup per (head, token). Pass 1 keeps a running (max, sum) per thread, merged across the workgroup;
// pass 2 recomputes each score, forms its final weight (so rounding it to f16 sees the exact value the reference
// rounds) and accumulates V, 64 positions at a time. Threads own output dimensions lid, lid + 64, ….
//
// Cache storage, by variant: 'f32' array<f32>; 'f16p' f16 pairs packed in u32 (pack2x16float, core WGSL, so
// it works without shader-f16); 'f16' array<f16> (shader-f16).

import { expand, enables } from './expand.ts';

export type KvStorage = 'f32' | 'f16p' | 'f16';

export const MAX_HEAD_DIM = 256;
const ACC = MAX_HEAD_DIM / 64;

function kvDecls(kind: KvStorage, access: 'read' | 'read_write'): string {
  const t = kind === 'f32' ? 'f32' : kind === 'f16p' ? 'u32' : 'f16';
  return `@group(0) @binding(1) var<storage, ${access}> KC: array<${t}>;
@group(0) @binding(2) var<storage, ${access}> VC: array<${t}>;`;
}

function kvReads(kind: KvStorage): string {
  if (kind === 'f32') return 'fn k_at(e: u32) -> f32 { return KC[e]; }\nfn v_at(e: u32) -> f32 { return VC[e]; }';
  if (kind === 'f16') return 'fn k_at(e: u32) -> f32 { return f32(KC[e]); }\nfn v_at(e: u32) -> f32 { return f32(VC[e]); }';
  return 'fn k_at(e: u32) -> f32 { return unpack2x16float(KC[e >> 1u])[e & 1u]; }\n' +
    'fn v_at(e: u32) -> f32 { return unpack2x16float(VC[e >> 1u])[e & 1u]; }';
}

function roundHalf(kind: KvStorage): string {
  if (kind === 'f32') return 'fn r16(x: f32) -> f32 { return x; }';
  if (kind === 'f16') return 'fn r16(x: f32) -> f32 { return f32(f16(x)); }';
  return 'fn r16(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }';
}

export const ATTENTION_PARAMS = ['nTok', 'pos0', 'nHead', 'nHeadKv', 'headDim', 'kvDim', 'qOff', 'outOff'] as const;

const ATTENTION = /* wgsl */ `{{ENABLE}}
struct P { n_tok: u32, pos0: u32, n_head: u32, n_head_kv: u32, head_dim: u32, kv_dim: u32, q_off: u32, out_off: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> Q: array<f32>;
{{KV}}
@group(0) @binding(3) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
{{READ}}
{{R16}}
var<workgroup> qs: array<f32, {{MAX_HD}}>;
var<workgroup> wts: array<f32, 64>;
var<workgroup> rm: array<f32, 64>;
var<workgroup> rl: array<f32, 64>;

fn score(pos: u32, kbase: u32) -> f32 {
  let ko = pos * p.kv_dim + kbase;
  var dot = 0.0;
  for (var d = 0u; d < p.head_dim; d++) { dot += qs[d] * k_at(ko + d); }
  return dot * p.scale;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wg.x;
  let t = wg.y;
  let n_kv = p.pos0 + t + 1u;
  let kbase = (h / (p.n_head / p.n_head_kv)) * p.head_dim;
  let qo = p.q_off + (t * p.n_head + h) * p.head_dim;
  for (var d = lid; d < p.head_dim; d += 64u) { qs[d] = r16(Q[qo + d]); }
  workgroupBarrier();

  var m = -1e30;
  var l = 0.0;
  for (var pos = lid; pos < n_kv; pos += 64u) {
    let s = score(pos, kbase);
    if (s > m) { l = l * exp(m - s) + 1.0; m = s; } else { l += exp(s - m); }
  }
  rm[lid] = m;
  rl[lid] = l;
  workgroupBarrier();
  for (var st = 32u; st > 0u; st >>= 1u) {
    if (lid < st) {
      let m2 = max(rm[lid], rm[lid + st]);
      rl[lid] = rl[lid] * exp(rm[lid] - m2) + rl[lid + st] * exp(rm[lid + st] - m2);
      rm[lid] = m2;
    }
    workgroupBarrier();
  }
  let mx = rm[0];
  let sum = rl[0];

  var acc: array<f32, {{ACC}}>;
  for (var base = 0u; base < n_kv; base += 64u) {
    let pos = base + lid;
    var wv = 0.0;
    if (pos < n_kv) { wv = r16(exp(score(pos, kbase) - mx) / sum); }
    wts[lid] = wv;
    workgroupBarrier();
    let cnt = min(64u, n_kv - base);
    for (var j = 0u; j < cnt; j++) {
      let w = wts[j];
      let vo = (base + j) * p.kv_dim + kbase;
      for (var k = 0u; k < {{ACC}}; k++) {
        let d = lid + 64u * k;
        if (d < p.head_dim) { acc[k] += w * v_at(vo + d); }
      }
    }
    workgroupBarrier();
  }
  let oo = p.out_off + (t * p.n_head + h) * p.head_dim;
  for (var k = 0u; k < {{ACC}}; k++) {
    let d = lid + 64u * k;
    if (d < p.head_dim) { OUT[oo + d] = acc[k]; }
  }
}
`;

export function attentionShader(kind: KvStorage): string {
  return expand(ATTENTION, {
    ENABLE: enables({ f16: kind === 'f16' }),
    KV: kvDecls(kind, 'read'),
    READ: kvReads(kind),
    R16: roundHalf(kind),
    MAX_HD: MAX_HEAD_DIM,
    ACC,
  });
}

export const KV_STORE_PARAMS = ['n', 'srcOff', 'dstOff', 'gridX'] as const;

// Append rows: cache[dst_off + i] = src[src_off + i] for i < n (K and V at once). Packed f16 works on pairs;
// dst_off and n are even there because kv_dim is.
const KV_STORE = /* wgsl */ `{{ENABLE}}
struct P { n: u32, src_off: u32, dst_off: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read> KS: array<f32>;
{{KV}}
@group(0) @binding(3) var<storage, read> VS: array<f32>;
@group(0) @binding(4) var<uniform> p: P;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wg.x + wg.y * p.grid_x) * 64u + lid;
{{BODY}}
}
`;

function kvStoreBody(kind: KvStorage): string {
  if (kind === 'f16p') {
    return `  if (2u * i >= p.n) { return; }
  let s = p.src_off + 2u * i;
  let d = (p.dst_off >> 1u) + i;
  KC[d] = pack2x16float(vec2<f32>(KS[s], KS[s + 1u]));
  VC[d] = pack2x16float(vec2<f32>(VS[s], VS[s + 1u]));`;
  }
  const conv = kind === 'f16' ? 'f16' : '';
  return `  if (i >= p.n) { return; }
  KC[p.dst_off + i] = ${conv}(KS[p.src_off + i]);
  VC[p.dst_off + i] = ${conv}(VS[p.src_off + i]);`;
}

export function kvStoreShader(kind: KvStorage): string {
  return expand(KV_STORE, {
    ENABLE: enables({ f16: kind === 'f16' }),
    KV: kvDecls(kind, 'read_write'),
    BODY: kvStoreBody(kind),
  });
}

/** Workgroups a kv_store of n elements needs. */
export function kvStoreInvocations(kind: KvStorage, n: number): number {
  return kind === 'f16p' ? n / 2 : n;
}
