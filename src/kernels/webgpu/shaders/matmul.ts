// Matmul (matvec when nTokens is 1) and get-rows over packed weights: one template each, expanded per type with
// the declarations in quant-decls.ts. y[t, row0 + r] = sum_c W[r, c] * x[t, c].
// A workgroup owns one weight row and a tile of TT tokens: its 64 threads split the row's 32-element chunks,
// decode each chunk once and dot it with every token of the tile, then reduce across the workgroup (through
// subgroupAdd when the adapter has subgroups, shared memory otherwise).

import { expand, enables } from './expand.ts';
import { WEIGHT_READS, type QuantDecl } from './quant-decls.ts';

export const MATMUL_WG = 64;
/** Tokens per workgroup tile. */
export const MATMUL_TT = 8;

/** Uniform layout (u32 words): see struct P below. */
export const MATMUL_PARAMS = ['rows', 'cols', 'nTok', 'rowBytes', 'xOff', 'xStride', 'yOff', 'yStride', 'row0', 'gridX'] as const;

const MATMUL = /* wgsl */ `{{ENABLE}}
struct P { rows: u32, cols: u32, n_tok: u32, row_bytes: u32, x_off: u32, x_stride: u32, y_off: u32, y_stride: u32, row0: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
{{READS}}
{{DECODE}}
const WG = {{WG}};
const TT = {{TT}};
var<workgroup> red: array<f32, {{RED}}>;

@compute @workgroup_size({{WG}})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32{{SG_ARGS}}) {
  let r = wg.x + wg.y * p.grid_x;
  if (r >= p.rows) { return; }
  let t0 = wg.z * TT;
  let nt = min(TT, p.n_tok - t0);
  var acc: array<f32, {{TT}}>;
  let nchunks = (p.cols + 31u) / 32u;
  let rb = r * p.row_bytes;
  var w: array<f32, 32>;
  for (var c = lid; c < nchunks; c += WG) {
    decode(rb, c, p.cols, &w);
    let n = min(32u, p.cols - c * 32u);
    for (var t = 0u; t < nt; t++) {
      let xb = p.x_off + (t0 + t) * p.x_stride + c * 32u;
      var s = 0.0;
      for (var i = 0u; i < n; i++) { s += w[i] * X[xb + i]; }
      acc[t] += s;
    }
  }
{{REDUCE}}
}
`;

// Tree reduction in shared memory: red[t * WG + lid].
const REDUCE_SHARED = /* wgsl */ `
  for (var t = 0u; t < TT; t++) { red[t * WG + lid] = acc[t]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { for (var t = 0u; t < TT; t++) { red[t * WG + lid] += red[t * WG + lid + s]; } }
    workgroupBarrier();
  }
  if (lid < nt) { Y[p.y_off + (t0 + lid) * p.y_stride + p.row0 + r] = red[lid * WG]; }`;

// subgroupAdd within each subgroup, then one partial per subgroup in shared memory: red[t * WG + sg].
const REDUCE_SUBGROUP = /* wgsl */ `
  let sg = lid / sg_size;
  let nsg = (WG + sg_size - 1u) / sg_size;
  for (var t = 0u; t < TT; t++) {
    let v = subgroupAdd(acc[t]);
    if (sg_lane == 0u) { red[t * WG + sg] = v; }
  }
  workgroupBarrier();
  if (lid < nt) {
    var s = 0.0;
    for (var k = 0u; k < nsg; k++) { s += red[lid * WG + k]; }
    Y[p.y_off + (t0 + lid) * p.y_stride + p.row0 + r] = s;
  }`;

export function matmulShader(decl: QuantDecl, opts: { subgroups: boolean }): string {
  return expand(MATMUL, {
    ENABLE: enables({ subgroups: opts.subgroups }),
    READS: WEIGHT_READS,
    DECODE: decl.wgsl,
    WG: MATMUL_WG,
    TT: MATMUL_TT,
    RED: MATMUL_WG * MATMUL_TT,
    SG_ARGS: opts.subgroups ? ', @builtin(subgroup_size) sg_size: u32, @builtin(subgroup_invocation_id) sg_lane: u32' : '',
    REDUCE: opts.subgroups ? REDUCE_SUBGROUP : REDUCE_SHARED,
  });
}

export const GET_ROWS_WG = 64;
export const GET_ROWS_PARAMS = ['nTok', 'cols', 'rowBytes', 'row0', 'partRows', 'outOff', 'outStride', 'chunks'] as const;

// out[t, :] = row ids[t] of the weight, for the tokens whose row lies in this part [row0, row0 + partRows).
const GET_ROWS = /* wgsl */ `
struct P { n_tok: u32, cols: u32, row_bytes: u32, row0: u32, part_rows: u32, out_off: u32, out_stride: u32, chunks: u32 }
@group(0) @binding(0) var<storage, read> W: array<u32>;
@group(0) @binding(1) var<storage, read> IDS: array<u32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
{{READS}}
{{DECODE}}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let t = gid.y;
  if (c >= p.chunks || t >= p.n_tok) { return; }
  let id = IDS[t];
  if (id < p.row0 || id >= p.row0 + p.part_rows) { return; }
  var w: array<f32, 32>;
  decode((id - p.row0) * p.row_bytes, c, p.cols, &w);
  let o = p.out_off + t * p.out_stride + c * 32u;
  let n = min(32u, p.cols - c * 32u);
  for (var i = 0u; i < n; i++) { OUT[o + i] = w[i]; }
}
`;

export function getRowsShader(decl: QuantDecl): string {
  return expand(GET_ROWS, { READS: WEIGHT_READS, DECODE: decl.wgsl, WG: GET_ROWS_WG });
}
