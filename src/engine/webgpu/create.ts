import type { BackendInfo } from '../backend.js';
import { describeAdapter, findAdapter, limitsOf, limitsToRequest } from './discover.js';
import { WebGpuBackend } from './webgpu-backend.js';

/** Finds an adapter, requests a device with the limits the engine needs, and wraps it in a backend. */
export async function createWebGpuBackend(options: { debug?: boolean }): Promise<{ backend: WebGpuBackend } | { attempts: string[] }> {
  const found = await findAdapter();
  if (!found.adapter) return { attempts: found.attempts };
  const { adapter, gpu, featureLevel, attempts } = found as Exclude<typeof found, { adapter: null }>;
  const device = await adapter.requestDevice({ requiredLimits: limitsToRequest(adapter), label: 'emergent' });
  const { description, software } = describeAdapter(adapter);
  const info: BackendInfo = {
    backend: 'webgpu',
    adapter: description,
    featureLevel,
    software,
    limits: limitsOf(device),
    discovery: [...attempts, 'webgpu: chosen'],
  };
  return { backend: new WebGpuBackend(device, info, gpu, options) };
}
