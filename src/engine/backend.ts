import type { AnyTypedArray, DType } from './dtype.js';
import type { KernelSpec, Launch } from './kernel.js';
import type { Storage } from './tensor.js';

export type BackendKind = 'webgpu' | 'cpu';

/** What `emergent info` reports. */
export interface BackendInfo {
  backend: BackendKind;
  /** Adapter description (vendor, architecture, device, driver), or the CPU. */
  adapter: string;
  /** 'core' or 'compatibility' for WebGPU; 'cpu' for the CPU backend. */
  featureLevel: 'core' | 'compatibility' | 'cpu';
  /** True for software rasterizers (llvmpipe, SwiftShader, lavapipe) and for the CPU backend. */
  software: boolean;
  /** The limits the engine requested and got. */
  limits: EngineLimits;
  /** How the backend was chosen, one line per attempt. */
  discovery: string[];
}

export interface EngineLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupSizeY: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupStorageSize: number;
  maxUniformBufferBindingSize: number;
  minUniformBufferOffsetAlignment: number;
}

/** One implementation of the engine's primitives. Models never see it; the Engine drives it. */
export interface Backend {
  readonly info: BackendInfo;
  /** Reserves memory for `bytes`; `name` is for error messages. Throws AllocationError over a limit. */
  allocate(bytes: number, name: string): Storage;
  /** Returns memory to the pool once the work already encoded has been submitted. */
  release(storage: Storage): void;
  write(storage: Storage, data: AnyTypedArray): void;
  read(storage: Storage, dtype: DType, size: number): Promise<AnyTypedArray>;
  copy(src: Storage, dst: Storage, bytes: number): void;
  /** Sets the first `bytes` to zero, in program order with encoded work. */
  clear(storage: Storage, bytes: number): void;
  /** Builds the kernel's pipeline now; rejects with a ShaderCompileError located in its source. */
  compile(kernel: KernelSpec, overrides?: Record<string, number>): Promise<void>;
  /** Encodes (WebGPU) or runs (CPU) one kernel launch; the Engine has validated it. */
  run(launch: Launch): void;
  /** Submits encoded work. */
  flush(): void;
  /** Waits until submitted work is done; rejects with the first error the device reported. */
  sync(): Promise<void>;
  dispose(): void;
}
