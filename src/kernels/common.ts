import type { Engine } from '../engine/engine.js';
import { ShapeError } from '../engine/errors.js';
import type { Tensor } from '../engine/tensor.js';
import { type Shape, sameShape, shapeString } from '../engine/shape.js';
import type { DType } from '../engine/dtype.js';

/** The 1-D workgroup size for this engine: `preferred`, capped by the device's limits. */
export function workgroupSize(engine: Engine, preferred = 256): number {
  const l = engine.limits;
  return Math.min(preferred, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX);
}

/** The output tensor: `out` when given (checked for shape and dtype), else a new one. */
export function outputTensor(engine: Engine, what: string, shape: Shape, dtype: DType, out?: Tensor): Tensor {
  if (!out) return engine.empty(shape, dtype, what);
  if (out.disposed) throw new ShapeError(`${what}: out ${out.describe()} was disposed`);
  if (!sameShape(out.shape, shape) || out.dtype !== dtype) {
    throw new ShapeError(`${what}: out must be ${shapeString(shape)} ${dtype}, got ${out.describe()}`);
  }
  return out;
}

export function requireDType(what: string, t: Tensor, ...dtypes: DType[]): void {
  if (!dtypes.includes(t.dtype)) throw new ShapeError(`${what}: expected ${dtypes.join(' or ')}, got ${t.describe()}`);
}

/** Packs up to 8 dims into the two vec4<u32> that broadcast kernels read. */
export function packDims(values: readonly number[], rank = values.length): number[] {
  const out = new Array<number>(8).fill(0);
  for (let i = 0; i < rank; i++) out[i] = values[i] ?? 0;
  return out;
}

export const f32 = Math.fround;
