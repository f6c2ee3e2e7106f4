// Opening a WebGPU device through the optional `webgpu` package (Dawn for Node), or the browser's navigator.gpu.
// Order: a core adapter (Vulkan, Metal, D3D12), then OpenGL ES in compatibility mode (Mesa's llvmpipe works
// without a GPU). The object returned by the package's create() must stay referenced while GPU work is pending,
// or Dawn can abort or hang: GpuDevice keeps it for the device's whole life.

import { createRequire } from 'node:module';
import os from 'node:os';
import { HearthError } from '../../util/errors.ts';

/** What the kernels branch on. */
export interface GpuCaps {
  /** `shader-f16`: f16 arithmetic and storage in WGSL. */
  f16: boolean;
  /** `subgroups`: subgroupAdd and friends for reductions. */
  subgroups: boolean;
  /** The adapter is a compatibility-mode (OpenGL ES) one. */
  compat: boolean;
}

export interface GpuDevice {
  readonly device: GPUDevice;
  readonly caps: GpuCaps;
  readonly limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    minUniformBufferOffsetAlignment: number;
    maxComputeWorkgroupsPerDimension: number;
  };
  /** One line naming the adapter, its backend and its features (for logs and test output). */
  readonly description: string;
  readonly features: readonly string[];
  /** GPUBufferUsage / GPUMapMode of the implementation in use. */
  readonly usage: { buffer: typeof GPUBufferUsage; map: typeof GPUMapMode };
  /** Destroys the device; settles once it is lost (or after a short wait). */
  destroy(): Promise<void>;
}

export interface OpenGpuOptions {
  /** Force one Dawn backend ('vulkan', 'opengles', …); default: core adapters first, then OpenGL ES. */
  backend?: string;
  /** Ignore shader-f16 / subgroups even when the adapter has them (tests of the portable paths). */
  disableF16?: boolean;
  disableSubgroups?: boolean;
}

interface WebGPUModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** Why the `webgpu` package cannot be used here, or undefined when it resolves. */
export function webgpuPackageMissing(): string | undefined {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return undefined;
  } catch {
    return 'the optional package "webgpu" (Dawn for Node) is not installed: run `npm install webgpu`, ' +
      'or use --backend cpu';
  }
}

async function loadDawn(): Promise<WebGPUModule> {
  const missing = webgpuPackageMissing();
  if (missing) throw new HearthError('backend_unavailable', missing);
  try {
    const name = 'webgpu'; // a variable keeps bundlers and tsc from requiring the optional package
    return (await import(name)) as WebGPUModule;
  } catch (e) {
    throw new HearthError('backend_unavailable', `the "webgpu" package failed to load: ${(e as Error).message}`, { cause: e });
  }
}

// Mesa's EGL picks X11 when nothing says otherwise, which fails on a machine without a display. Only the main
// thread's process.env reaches the C environment (a worker's is a copy), so host.ts calls this before its worker.
export function defaultEglPlatform(): void {
  const env = process.env;
  if (process.platform === 'linux' && !env.EGL_PLATFORM && !env.DISPLAY && !env.WAYLAND_DISPLAY) env.EGL_PLATFORM = 'surfaceless';
}

/**
 * Every create() result, held for the life of the process: Dawn aborts the process at exit ("terminate called
 * after throwing std::system_error") when an instance is collected while a destroyed device's teardown is in flight.
 */
const INSTANCES = new Set<GPU>();

/**
 * The GL libraries Dawn's OpenGL ES backend loads (libglvnd's EGL and dispatch, Mesa's EGL vendor and gbm). Dawn
 * unloads them when its device goes, while Mesa's worker threads still hold thread-local data whose destructor lives
 * in them: a thread that exits afterwards jumps into unmapped code (seen as an exit-time SIGSEGV in a "WorkerThread",
 * in __nptl_deallocate_tsd, in about one process in eight on llvmpipe). Loading them once more with RTLD_NODELETE
 * keeps them mapped for the life of the process.
 */
const GL_LIBRARIES = ['libGLdispatch.so.0', 'libEGL.so.1', 'libEGL_mesa.so.0', 'libgbm.so.1'];

/** dlfcn.h's RTLD_NODELETE on Linux (glibc and musl); Node's os.constants.dlopen does not list it. */
const RTLD_NODELETE = 0x1000;

function pinGlLibraries(): void {
  if (process.platform !== 'linux') return;
  for (const lib of GL_LIBRARIES) {
    try {
      process.dlopen({ exports: {} } as NodeJS.Module, lib, os.constants.dlopen.RTLD_NOW! | RTLD_NODELETE);
    } catch {
      // not a Node addon ("did not self-register": loaded and pinned all the same), or not installed: nothing to pin
    }
  }
}

/** destroy() waits this long at most for the device's `lost` promise (it settles once Dawn has let it go). */
const DESTROY_WAIT_MS = 2000;

/** The limits we raise above the (small) defaults, up to what the adapter offers. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
] as const;

/**
 * Open a device on the best adapter here. Throws HearthError('backend_unavailable') naming what is missing: the
 * package, or any adapter at all (with the system libraries to install).
 */
export async function openGpuDevice(opts: OpenGpuOptions = {}): Promise<GpuDevice> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  let gpu: GPU | undefined;
  let adapter: GPUAdapter | null = null;
  let usage: GpuDevice['usage'];
  let compat = false;
  const backend = opts.backend ?? (typeof process !== 'undefined' ? process.env.HEARTH_WEBGPU_BACKEND : undefined);
  if (nav?.gpu && !(typeof process !== 'undefined' && process.versions?.node)) {
    gpu = nav.gpu;
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) { adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' }); compat = !!adapter; }
    usage = { buffer: GPUBufferUsage, map: GPUMapMode };
  } else {
    defaultEglPlatform();
    pinGlLibraries();
    const dawn = await loadDawn();
    const mk = (flags: string[]) => { const g = dawn.create(flags); INSTANCES.add(g); return g; };
    usage = { buffer: dawn.globals.GPUBufferUsage as typeof GPUBufferUsage, map: dawn.globals.GPUMapMode as typeof GPUMapMode };
    if (!backend || backend !== 'opengles') {
      gpu = mk(backend ? [`backend=${backend}`] : []);
      adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) { adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' }); compat = !!adapter; }
    }
    if (!adapter && (!backend || backend === 'opengles')) {
      gpu = mk(['backend=opengles']);
      adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
      compat = true;
    }
  }
  if (!adapter || !gpu) {
    throw new HearthError('backend_unavailable',
      'no WebGPU adapter could be created: this machine has no GPU driver that Dawn can use. Without a GPU, Mesa\'s ' +
      'software OpenGL ES driver works (Debian/Ubuntu: scripts/install-system-deps.sh, i.e. libegl1 libegl-dev ' +
      'libegl-mesa0 libgl1-mesa-dri), or use --backend cpu');
  }
  const has = (f: string) => adapter.features.has(f as GPUFeatureName);
  const f16 = has('shader-f16') && !opts.disableF16;
  const subgroups = has('subgroups') && !opts.disableSubgroups;
  const requiredFeatures = [...(f16 ? ['shader-f16'] : []), ...(subgroups ? ['subgroups'] : [])] as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info;
  const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const features = [...adapter.features].sort();
  INSTANCES.add(gpu);
  return {
    device,
    caps: { f16, subgroups, compat },
    limits: {
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
      minUniformBufferOffsetAlignment: device.limits.minUniformBufferOffsetAlignment,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    },
    description: `${name} (${compat ? 'compatibility' : 'core'}; shader-f16 ${has('shader-f16') ? 'yes' : 'no'}, ` +
      `subgroups ${has('subgroups') ? 'yes' : 'no'}; max binding ${device.limits.maxStorageBufferBindingSize} B, ` +
      `max buffer ${device.limits.maxBufferSize} B)`,
    features,
    usage,
    async destroy() {
      device.destroy();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, DESTROY_WAIT_MS); });
      await Promise.race([device.lost.then(() => {}), late]);
      clearTimeout(timer);
    },
  };
}
