// Image preprocessing as llama.cpp's mtmd does it (tools/mtmd/mtmd-image.cpp, img_tool), so that the same image gives
// the same tensor: Pillow's separable resampling in fixed point (bilinear, bicubic with a = -0.5, Lanczos 3), an
// aspect-preserving fit into the encoder's square with a pad colour, then pixel / 255 normalised by the mmproj's
// mean and std into planar [3, S, S].

/** 8-bit RGB, interleaved, row-major. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes. */
  readonly data: Uint8Array;
}

/**
 * Pillow's resampling (bilinear, bicubic, lanczos: what mtmd's img_tool does since it was ported from Pillow), or the
 * point-sampled interpolators img_tool had before (`point-bilinear`, `point-bicubic`): each output pixel reads the
 * input at (x · scale, y · scale) without an antialiasing filter, as the llama.cpp the reference package ships does.
 */
export type ResizeFilter = 'bilinear' | 'bicubic' | 'lanczos' | 'point-bilinear' | 'point-bicubic';

/** ceil: mtmd's PAD_CEIL (the default); none: stretch to the square. */
export type PadStyle = 'ceil' | 'none';

export interface PreprocessOptions {
  size: number;
  filter: ResizeFilter;
  pad: PadStyle;
  padColor: readonly [number, number, number];
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

const PRECISION_BITS = 32 - 8 - 2;
type PillowFilter = 'bilinear' | 'bicubic' | 'lanczos';
const SUPPORT: Record<PillowFilter, number> = { bilinear: 1, bicubic: 2, lanczos: 3 };

function sinc(v: number): number {
  if (v === 0) return 1;
  const t = v * Math.PI;
  return Math.sin(t) / t;
}

function filterWeight(filter: PillowFilter, x: number): number {
  if (filter === 'lanczos') return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  const ax = Math.abs(x);
  if (filter === 'bilinear') return ax < 1 ? 1 - ax : 0;
  const a = -0.5;
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
  if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
  return 0;
}

interface Coefficients {
  ksize: number;
  /** Per output pixel: first input pixel, count. */
  bounds: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  weights: Int32Array;
}

/** Pillow's precompute_coeffs: the input range and fixed-point weights of each output pixel of one axis. */
function coefficients(inSize: number, outSize: number, filter: PillowFilter): Coefficients {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = SUPPORT[filter] * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const pre = new Float64Array(ksize);
  const fxp = 2 ** PRECISION_BITS;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xcnt = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    pre.fill(0);
    for (let x = 0; x < xcnt; x++) {
      const w = filterWeight(filter, (x + xmin - center + 0.5) * ss);
      pre[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xcnt && ww !== 0 ? pre[x] / ww : x < xcnt ? pre[x] : 0;
      weights[xx * ksize + x] = Math.trunc(w * fxp + (w < 0 ? -0.5 : 0.5));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xcnt;
  }
  return { ksize, bounds, weights };
}

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** One separable pass along x (stride 3 within a row) or y (stride a row), in Pillow's fixed point. */
function resampleX(src: Uint8Array, inW: number, h: number, outW: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(outW * h * 3);
  const half = 1 << (PRECISION_BITS - 1);
  for (let y = 0; y < h; y++) {
    const row = y * inW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2];
      const xcnt = c.bounds[xx * 2 + 1];
      const k = xx * c.ksize;
      let s0 = half;
      let s1 = half;
      let s2 = half;
      for (let x = 0; x < xcnt; x++) {
        const p = row + (xmin + x) * 3;
        const w = c.weights[k + x];
        s0 += src[p] * w;
        s1 += src[p + 1] * w;
        s2 += src[p + 2] * w;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(s0 >> PRECISION_BITS);
      out[o + 1] = clip8(s1 >> PRECISION_BITS);
      out[o + 2] = clip8(s2 >> PRECISION_BITS);
    }
  }
  return out;
}

function resampleY(src: Uint8Array, w: number, outH: number, c: Coefficients): Uint8Array {
  const rowElems = w * 3;
  const out = new Uint8Array(rowElems * outH);
  const acc = new Int32Array(rowElems);
  const half = 1 << (PRECISION_BITS - 1);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.bounds[yy * 2];
    const ycnt = c.bounds[yy * 2 + 1];
    acc.fill(half);
    for (let y = 0; y < ycnt; y++) {
      const wt = c.weights[yy * c.ksize + y];
      const row = (ymin + y) * rowElems;
      for (let i = 0; i < rowElems; i++) acc[i] += src[row + i] * wt;
    }
    const o = yy * rowElems;
    for (let i = 0; i < rowElems; i++) out[o + i] = clip8(acc[i] >> PRECISION_BITS);
  }
  return out;
}

/**
 * Point-sampled bilinear: output (x, y) reads the input at (x · (w−1)/W, y · (h−1)/H) and interpolates its 2×2
 * neighbourhood in f32, truncating to 8 bits.
 */
function pointBilinear(img: RgbImage, W: number, H: number): RgbImage {
  const f = Math.fround;
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(W * H * 3);
  const xr = f((w - 1) / W);
  const yr = f((h - 1) / H);
  const lerp = (a: number, b: number, t: number) => f(a + f(f(b - a) * t));
  for (let y = 0; y < H; y++) {
    const py = f(yr * y);
    const y0 = Math.trunc(py);
    const ty = f(py - y0);
    for (let x = 0; x < W; x++) {
      const px = f(xr * x);
      const x0 = Math.trunc(px);
      const tx = f(px - x0);
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => src[(yy * w + xx) * 3 + c];
        const top = lerp(at(y0, x0), at(y0, x0 + 1), tx);
        const bottom = lerp(at(y0 + 1, x0), at(y0 + 1, x0 + 1), tx);
        out[(y * W + x) * 3 + c] = Math.trunc(lerp(top, bottom, ty)) & 255;
      }
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * Point-sampled bicubic: output (x, y) reads the input at (x · w/W, y · h/H); the cubic through the four samples
 * around it (edges clamped) is evaluated along x for four rows, then along y, rounded and clamped to 8 bits.
 */
function pointBicubic(img: RgbImage, W: number, H: number): RgbImage {
  const f = Math.fround;
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(W * H * 3);
  const tx = f(w / W);
  const ty = f(h / H);
  const cl = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);
  // the cubic through p(-1), p(0), p(1), p(2) at t in [0, 1)
  const cubic = (m1: number, p0: number, p1: number, p2: number, t: number) => {
    const d0 = f(m1 - p0);
    const d2 = f(p1 - p0);
    const d3 = f(p2 - p0);
    const a1 = f(-1 / 3 * d0 + d2 - 1 / 6 * d3);
    const a2 = f(1 / 2 * d0 + 1 / 2 * d2);
    const a3 = f(-1 / 6 * d0 - 1 / 2 * d2 + 1 / 6 * d3);
    return f(f(f(p0 + f(a1 * t)) + f(f(a2 * t) * t)) + f(f(f(a3 * t) * t) * t));
  };
  const C = new Float32Array(4);
  for (let i = 0; i < H; i++) {
    const sy = f(ty * i);
    const y = Math.trunc(sy);
    const dy = f(sy - y);
    for (let j = 0; j < W; j++) {
      const sx = f(tx * j);
      const x = Math.trunc(sx);
      const dx = f(sx - x);
      for (let k = 0; k < 3; k++) {
        for (let jj = 0; jj < 4; jj++) {
          const row = cl(y - 1 + jj, h - 1) * w;
          const at = (xx: number) => src[(row + cl(xx, w - 1)) * 3 + k];
          C[jj] = cubic(at(x - 1), at(x), at(x + 1), at(x + 2), dx);
        }
        const v = cubic(C[0], C[1], C[2], C[3], dy);
        out[(i * W + j) * 3 + k] = Math.min(Math.max(Math.round(v), 0), 255);
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** Pillow-compatible resize of an RGB image (horizontal pass, then vertical; an axis of equal size is left alone). */
export function resizeRgb(img: RgbImage, width: number, height: number, filter: ResizeFilter): RgbImage {
  if (filter === 'point-bilinear') return pointBilinear(img, width, height);
  if (filter === 'point-bicubic') return pointBicubic(img, width, height);
  let data = img.data;
  if (width !== img.width) data = resampleX(data, img.width, img.height, width, coefficients(img.width, width, filter));
  if (height !== img.height) data = resampleY(data, width, height, coefficients(img.height, height, filter));
  return { width, height, data: data === img.data ? img.data.slice() : data };
}

/**
 * img_tool::resize: into a size × size square, either stretched ('none') or scaled to fit with its aspect kept
 * (each side ceil(side × scale), at most the square) and centred on the pad colour ('ceil').
 */
export function fitSquare(img: RgbImage, size: number, filter: ResizeFilter, pad: PadStyle, padColor: readonly [number, number, number]): RgbImage {
  if (img.width === size && img.height === size) return { width: size, height: size, data: img.data.slice() };
  if (pad === 'none') return resizeRgb(img, size, size, filter);
  // float arithmetic as mtmd's (float scale_w, scale_h; std::ceil of float products)
  const f = Math.fround;
  const scale = Math.min(f(size / img.width), f(size / img.height));
  const w = Math.min(Math.ceil(f(img.width * scale)), size);
  const h = Math.min(Math.ceil(f(img.height * scale)), size);
  const resized = resizeRgb(img, w, h, filter);
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) out.set(padColor, i * 3);
  const ox = Math.trunc((size - w) / 2);
  const oy = Math.trunc((size - h) / 2);
  for (let y = 0; y < h; y++) out.set(resized.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * size + ox) * 3);
  return { width: size, height: size, data: out };
}

/** Planar [3, H, W] of (pixel / 255 - mean) / std, in f32 as clip_image_f32::normalize. */
export function normalizeRgb(img: RgbImage, mean: readonly number[], std: readonly number[]): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) out[c * n + i] = f(f(f(img.data[i * 3 + c] / 255) - f(mean[c])) / f(std[c]));
  }
  return out;
}

/** The encoder's input for one image. */
export function preprocessImage(img: RgbImage, o: PreprocessOptions): Float32Array {
  return normalizeRgb(fitSquare(img, o.size, o.filter, o.pad, o.padColor), o.mean, o.std);
}

