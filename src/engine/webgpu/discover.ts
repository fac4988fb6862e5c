import type { EngineLimits } from '../backend.js';

/** A WebGPU adapter the engine can use, with how it was found. */
export interface FoundAdapter {
  adapter: GPUAdapter;
  featureLevel: 'core' | 'compatibility';
  /** Keeps the Node `GPU` object alive for as long as the device is. */
  gpu: GPU;
  attempts: string[];
}

const SOFTWARE = /llvmpipe|softpipe|swiftshader|lavapipe|basic render|software/i;

export function describeAdapter(adapter: GPUAdapter): { description: string; software: boolean } {
  const info = adapter.info;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0);
  const description = [...new Set(parts)].join(' / ') || 'unknown adapter';
  const fallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { description, software: fallback || SOFTWARE.test(description) };
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Dawn instances by creation flags, kept for the life of the process: garbage-collecting an instance
 * that once created a device aborts the process ("futex facility returned an unexpected error code",
 * measured with webgpu 0.6.2), so each kind is created once and reused by every engine.
 */
const dawnInstances = new Map<string, GPU>();

function dawnInstance(dawn: DawnModule, flags: string[]): GPU {
  const key = flags.join(' ');
  let gpu = dawnInstances.get(key);
  if (!gpu) dawnInstances.set(key, (gpu = dawn.create(flags)));
  return gpu;
}

async function loadDawn(attempts: string[]): Promise<DawnModule | null> {
  try {
    const mod = (await import('webgpu')) as unknown as DawnModule;
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    return mod;
  } catch (e) {
    attempts.push(`webgpu package: not loadable (${(e as Error).message.split('\n')[0]})`);
    return null;
  }
}

/**
 * Finds a WebGPU adapter. Browser: navigator.gpu. Node: Dawn's default backends (a hardware GPU
 * through Vulkan), then Dawn's OpenGL backend on Mesa (surfaceless EGL, compatibility level).
 */
export async function findAdapter(): Promise<FoundAdapter | { adapter: null; attempts: string[] }> {
  const attempts: string[] = [];
  if (!isNode()) {
    const gpu = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
    if (!gpu) {
      attempts.push('navigator.gpu: absent');
      return { adapter: null, attempts };
    }
    for (const featureLevel of ['core', 'compatibility'] as const) {
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', featureLevel } as GPURequestAdapterOptions);
      if (adapter) {
        attempts.push(`navigator.gpu (${featureLevel}): ${describeAdapter(adapter).description}`);
        return { adapter, gpu, featureLevel, attempts };
      }
      attempts.push(`navigator.gpu (${featureLevel}): no adapter`);
    }
    return { adapter: null, attempts };
  }
  const dawn = await loadDawn(attempts);
  if (!dawn) return { adapter: null, attempts };
  try {
    const gpu = dawnInstance(dawn, []);
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) {
      attempts.push(`dawn default: ${describeAdapter(adapter).description}`);
      return { adapter, gpu, featureLevel: 'core', attempts };
    }
    attempts.push('dawn default (Vulkan/Metal/D3D12): no adapter');
  } catch (e) {
    attempts.push(`dawn default: ${(e as Error).message}`);
  }
  try {
    if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    const gpu = dawnInstance(dawn, ['backend=opengl']);
    const adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' } as GPURequestAdapterOptions);
    if (adapter) {
      attempts.push(`dawn opengl (EGL ${process.env.EGL_PLATFORM}, compatibility): ${describeAdapter(adapter).description}`);
      return { adapter, gpu, featureLevel: 'compatibility', attempts };
    }
    attempts.push('dawn opengl (Mesa EGL): no adapter (are libegl1, libegl-mesa0, libgles2, libgl1-mesa-dri installed?)');
  } catch (e) {
    attempts.push(`dawn opengl: ${(e as Error).message}`);
  }
  return { adapter: null, attempts };
}

const REQUESTED: (keyof EngineLimits)[] = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupStorageSize',
  'maxUniformBufferBindingSize',
  'minUniformBufferOffsetAlignment',
];

/** The adapter's best values of the limits the engine relies on: compatibility defaults are low. */
export function limitsToRequest(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of REQUESTED) out[k] = adapter.limits[k];
  return out;
}

export function limitsOf(device: GPUDevice): EngineLimits {
  const out = {} as EngineLimits;
  for (const k of REQUESTED) out[k] = device.limits[k];
  return out;
}
