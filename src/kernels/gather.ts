import type { Engine } from '../engine/engine.js';
import type { AnyTypedArray, DType } from '../engine/dtype.js';
import { ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normalizeAxis, shapeSize, splitAtAxis } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType, workgroupSize } from './common.js';

export interface GatherOptions {
  /** The axis of x that the indices select along; negative counts from the end. Default 0. */
  axis?: number;
}

interface GatherUniform {
  n: number;
  inner: number;
  m: number;
  len: number;
  /** The bits an out-of-range index reads. */
  fill: number;
}

/** The bits an out-of-range index reads: NaN for f32, 0 for the integer dtypes. */
const FILL_BITS: Record<DType, number> = { f32: 0x7fc00000, i32: 0, u32: 0 };

/** CPU twin of gather, on the u32 bits of every dtype. */
function gatherCpu({ arrays, uniforms: { gp } }: CpuLaunch): void {
  const { indices, x, out } = arrays;
  const { n, inner, m, len, fill } = gp as unknown as GatherUniform;
  const outer = n / (m * inner);
  if (inner === 1) {
    gatherScalars(x, indices, out, outer, m, len, fill);
    return;
  }
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (let j = 0; j < m; j++) {
      const k = indices[j];
      if (k < 0 || k >= len) {
        out.fill(fill, o, o + inner);
      } else {
        const s = (b * len + k) * inner;
        copyRange(x, s, s + inner, out, o);
      }
      o += inner;
    }
  }
}

function gatherScalars(x: AnyTypedArray, indices: AnyTypedArray, out: AnyTypedArray, outer: number, m: number, len: number, fill: number): void {
  let o = 0;
  for (let b = 0, base = 0; b < outer; b++, base += len) {
    for (let j = 0; j < m; j++) {
      const k = indices[j];
      out[o++] = k < 0 || k >= len ? fill : x[base + k];
    }
  }
}

function copyRange(src: AnyTypedArray, from: number, to: number, dst: AnyTypedArray, at: number): void {
  if (to - from > 16) dst.set(src.subarray(from, to), at);
  else for (let s = from, d = at; s < to; s++, d++) dst[d] = src[s];
}

export const gatherKernel: KernelSpec = { name: 'gather', shader: SHADERS.gather, entryPoint: 'gather', cpu: gatherCpu };

/**
 * Like tf.gather (without batchDims): slices of x along `axis` picked by `indices` (i32, any rank).
 * The output has shape x.shape[:axis] + indices.shape + x.shape[axis+1:] and x's dtype (f32, i32, u32).
 * Indices are not checked on the device: an index outside [0, x.shape[axis]) (negative ones included)
 * selects a slice of NaN for f32 and of 0 for i32 and u32.
 */
export function gather(engine: Engine, x: Tensor, indices: Tensor, options: GatherOptions = {}, out?: Tensor): Tensor {
  engine.expect(x, 'gather x');
  engine.expect(indices, 'gather indices');
  requireDType('gather x', x, 'f32', 'i32', 'u32');
  requireDType('gather indices', indices, 'i32');
  if (x.rank === 0) throw new ShapeError(`gather x: expected rank >= 1, got ${x.describe()}`);
  const axis = normalizeAxis(options.axis ?? 0, x.rank, 'gather axis');
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const result = outputTensor(engine, 'gather', shape, x.dtype, out);
  const [, len, inner] = splitAtAxis(x.shape, axis);
  const gp: GatherUniform = { n: shapeSize(shape), inner, m: indices.size, len, fill: FILL_BITS[x.dtype] };
  if (gp.n === 0) return result;
  // The kernel takes u32 views, which Engine.run cannot see are the same memory as an input.
  if (out === x || out === indices) throw new ShapeError(`gather: out must not be an input, got ${out.describe()}`);
  const wg = workgroupSize(engine);
  const xBits = x.view(x.shape, 'u32');
  const outBits = result.view(result.shape, 'u32');
  engine.run({
    kernel: gatherKernel,
    bindings: { indices, x: xBits, out: outBits },
    uniforms: { gp: { ...gp } },
    overrides: { WG: wg },
    workgroups: grid1d(gp.n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  xBits.dispose();
  outBits.dispose();
  return result;
}
