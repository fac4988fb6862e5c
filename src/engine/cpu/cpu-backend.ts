import type { Backend, BackendInfo, EngineLimits } from '../backend.js';
import { type AnyTypedArray, type DType, allocArray } from '../dtype.js';
import { AllocationError } from '../errors.js';
import type { Launch } from '../kernel.js';
import type { Storage } from '../tensor.js';
import { acquireWorkerPool, releaseWorkerPool } from './worker-pool.js';

/** The CPU backend's limits: an engine choice (typed arrays could hold more), kept beside WebGPU's. */
export const CPU_LIMITS: EngineLimits = {
  maxBufferSize: 2 ** 31,
  maxStorageBufferBindingSize: 2 ** 31,
  maxStorageBuffersPerShaderStage: 1 << 16,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupSizeX: 1024,
  maxComputeWorkgroupSizeY: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeWorkgroupStorageSize: 32768,
  maxUniformBufferBindingSize: 65536,
  minUniformBufferOffsetAlignment: 16,
};

function view(storage: Storage, dtype: DType, size: number): AnyTypedArray {
  const buf = storage as ArrayBufferLike;
  switch (dtype) {
    case 'f32': return new Float32Array(buf, 0, size);
    case 'i32': return new Int32Array(buf, 0, size);
    case 'u32': return new Uint32Array(buf, 0, size);
  }
}

/**
 * Runs every kernel's CPU twin on typed arrays, at once; a twin may share rows of its work with the
 * worker pool (worker-pool.ts), copying its operands into shared memory to do so.
 */
export class CpuBackend implements Backend {
  readonly info: BackendInfo;
  #disposed = false;

  constructor(discovery: string[] = []) {
    const os = typeof process !== 'undefined' && process.arch ? `${process.platform}-${process.arch}` : 'browser';
    this.info = {
      backend: 'cpu',
      adapter: `CPU (JavaScript typed arrays, ${os})`,
      featureLevel: 'cpu',
      software: true,
      limits: { ...CPU_LIMITS },
      discovery: [...discovery, 'cpu: chosen'],
    };
    acquireWorkerPool();
  }

  allocate(bytes: number, name: string): Storage {
    if (bytes > CPU_LIMITS.maxBufferSize) throw new AllocationError(name, bytes, 'maxBufferSize', CPU_LIMITS.maxBufferSize);
    return new ArrayBuffer(bytes);
  }

  release(): void {}

  write(storage: Storage, data: AnyTypedArray): void {
    new Uint8Array(storage as ArrayBufferLike).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async read(storage: Storage, dtype: DType, size: number): Promise<AnyTypedArray> {
    const out = allocArray(dtype, size);
    out.set(view(storage, dtype, size));
    return out;
  }

  copy(src: Storage, dst: Storage, bytes: number): void {
    new Uint8Array(dst as ArrayBufferLike, 0, bytes).set(new Uint8Array(src as ArrayBufferLike, 0, bytes));
  }

  clear(storage: Storage, bytes: number): void {
    new Uint8Array(storage as ArrayBufferLike, 0, bytes).fill(0);
  }

  async compile(): Promise<void> {}

  run(launch: Launch): void {
    const arrays: Record<string, AnyTypedArray> = {};
    for (const [name, t] of Object.entries(launch.bindings)) arrays[name] = view(t.storage, t.dtype, t.size);
    const [x, y = 1, z = 1] = launch.workgroups;
    launch.kernel.cpu({ arrays, uniforms: launch.uniforms ?? {}, overrides: launch.overrides ?? {}, workgroups: [x, y, z] });
  }

  flush(): void {}

  async sync(): Promise<void> {}

  /** Terminates the worker pool's threads when no other CPU backend is left. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    releaseWorkerPool();
  }
}
