import type { AnyTypedArray } from './dtype.js';
import type { UniformValues } from './reflection.js';
import type { ShaderSource } from './shader-source.js';
import type { Tensor } from './tensor.js';

/** What a CPU twin receives: the bound tensors' data by WGSL name, and the launch's parameters. */
export interface CpuLaunch {
  arrays: Record<string, AnyTypedArray>;
  uniforms: Record<string, UniformValues>;
  overrides: Record<string, number>;
  workgroups: readonly [number, number, number];
}

/**
 * One WGSL entry point and its CPU twin. The twin implements the same semantics over whole arrays
 * (it need not imitate invocations), in f32 arithmetic.
 */
export interface KernelSpec {
  /** Name in errors and profiles, e.g. "elementwise.binary". */
  name: string;
  shader: ShaderSource;
  entryPoint: string;
  cpu(launch: CpuLaunch): void;
}

/** A kernel with its tensors bound by WGSL variable name, its uniforms and its dispatch size. */
export interface Launch {
  kernel: KernelSpec;
  bindings: Record<string, Tensor>;
  /** Values of each uniform struct, by the uniform variable's name, then field name. */
  uniforms?: Record<string, UniformValues>;
  /** Pipeline-overridable constants; part of the pipeline cache key. */
  overrides?: Record<string, number>;
  /** Workgroups to dispatch in x, y, z. */
  workgroups: readonly [number, number?, number?];
}

/**
 * Workgroups for `invocations` threads in groups of `wg`, folded into y when x would pass the
 * per-dimension limit. Shaders recover the linear index with `linear_index` (shaders/lib/grid.wgsl).
 */
export function grid1d(invocations: number, wg: number, maxPerDimension = 65535): [number, number, number] {
  const groups = Math.ceil(invocations / wg);
  if (groups <= maxPerDimension) return [Math.max(groups, 0), 1, 1];
  const y = Math.ceil(groups / maxPerDimension);
  const x = Math.ceil(groups / y);
  return [x, y, 1];
}
