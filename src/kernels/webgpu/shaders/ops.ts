// Element-wise and normalisation shaders: RMSNorm, RoPE, SwiGLU, add, add-bias. Same math as src/kernels/ref/ops.ts
// and src/kernels/ref/rope.ts; RoPE takes its cos/sin table from the CPU (ropeCache), because ggml accumulates
// theta by repeated float32 products and GPU sin/cos are only specified on [-pi, pi].
// Uniform structs list their u32 fields first, then f32 fields (see Params in kernel-set.ts).

export const ELEMENTWISE_WG = 64;

/** Index of this invocation in a 2-D grid of 64-wide workgroups (grids wrap at 65535 per dimension). */
const FLAT = /* wgsl */ `fn flat(wg: vec3<u32>, lid: u32, grid_x: u32) -> u32 { return (wg.x + wg.y * grid_x) * 64u + lid; }`;

export const RMS_NORM = /* wgsl */ `
struct P { n: u32, n_rows: u32, x_off: u32, out_off: u32, grid_x: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> NW: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
@group(0) @binding(3) var<uniform> p: P;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.y * p.grid_x;
  if (row >= p.n_rows) { return; }
  let xo = p.x_off + row * p.n;
  var ss = 0.0;
  for (var i = lid; i < p.n; i += 64u) { let v = X[xo + i]; ss += v * v; }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let scale = 1.0 / sqrt(red[0] / f32(p.n) + p.eps);
  let oo = p.out_off + row * p.n;
  for (var i = lid; i < p.n; i += 64u) { OUT[oo + i] = X[xo + i] * scale * NW[i]; }
}
`;

// x is [n_tok, n_head, head_dim] at x_off; CS is [n_tok, half] pairs (cos, sin). NORM rotates (2i, 2i+1),
// NEOX rotates (i, i + half); dimensions past 2 * half pass through.
export const ROPE = /* wgsl */ `
struct P { n_tok: u32, n_head: u32, head_dim: u32, half: u32, neox: u32, x_off: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read> CS: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${FLAT}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = flat(wg, lid, p.grid_x);
  if (g >= p.n_tok * p.n_head * p.half) { return; }
  let i = g % p.half;
  let th = g / p.half;
  let t = th / p.n_head;
  let o = p.x_off + th * p.head_dim;
  var a = o + 2u * i;
  var b = a + 1u;
  if (p.neox != 0u) { a = o + i; b = a + p.half; }
  let c = CS[2u * (t * p.half + i)];
  let s = CS[2u * (t * p.half + i) + 1u];
  let x0 = X[a];
  let x1 = X[b];
  X[a] = x0 * c - x1 * s;
  X[b] = x0 * s + x1 * c;
}
`;

export const SWIGLU = /* wgsl */ `
struct P { n: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read_write> G: array<f32>;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${FLAT}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wg, lid, p.grid_x);
  if (i >= p.n) { return; }
  let g = G[i];
  G[i] = (g / (1.0 + exp(-g))) * U[i];
}
`;

// a[a_off + i] += b[b_off + i]
export const ADD = /* wgsl */ `
struct P { n: u32, a_off: u32, b_off: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read_write> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${FLAT}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wg, lid, p.grid_x);
  if (i >= p.n) { return; }
  A[p.a_off + i] += B[p.b_off + i];
}
`;

// x[x_off + t * n + i] += bias[i] for every token row t.
export const ADD_BIAS = /* wgsl */ `
struct P { n: u32, n_tok: u32, x_off: u32, grid_x: u32 }
@group(0) @binding(0) var<storage, read_write> X: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
${FLAT}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = flat(wg, lid, p.grid_x);
  if (i >= p.n * p.n_tok) { return; }
  X[p.x_off + i] += B[i % p.n];
}
`;
