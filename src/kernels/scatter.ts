import type { Engine } from '../engine/engine.js';
import type { DType } from '../engine/dtype.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { type Shape, checkShape, sameShape, shapeSize, shapeString } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType, workgroupSize } from './common.js';

export const SCATTER_REDUCTIONS = ['assign', 'add'] as const;
export type ScatterReduction = (typeof SCATTER_REDUCTIONS)[number];

export interface ScatterOptions {
  /** 'assign' (default): the update with the largest source position wins; 'add': duplicates sum. */
  reduce?: ScatterReduction;
}

interface ScatterUniform {
  n: number;
  rows: number;
  inner: number;
  width: number;
}

const NO_ROW = 0xffffffff;
const shader = SHADERS.scatter;

function params(launch: CpuLaunch): ScatterUniform {
  return launch.uniforms.sp as unknown as ScatterUniform;
}

/** Row of each update as the WGSL's row_of() sees it: NO_ROW when out of [0, rows). */
function rowOf(indices: ArrayLike<number>, i: number, rows: number): number {
  const k = indices[i];
  return k < 0 || k >= rows ? NO_ROW : k;
}

export const assignWinnersKernel: KernelSpec = {
  name: 'scatter.assign_winners',
  shader,
  entryPoint: 'assign_winners',
  cpu(launch) {
    const { indices, winner_slots } = launch.arrays;
    const { n, rows } = params(launch);
    for (let i = 0; i < n; i++) {
      const r = rowOf(indices, i, rows);
      if (r !== NO_ROW && winner_slots[r] < i + 1) winner_slots[r] = i + 1;
    }
  },
};

/** Copies each row's winning update, as u32 bits (any dtype); rows without one get 0. */
export const assignWriteKernel: KernelSpec = {
  name: 'scatter.assign_write',
  shader,
  entryPoint: 'assign_write',
  cpu(launch) {
    const { winner, upd, out } = launch.arrays;
    const { rows, inner } = params(launch);
    for (let r = 0; r < rows; r++) {
      const w = winner[r];
      if (w === 0) out.fill(0, r * inner, (r + 1) * inner);
      else out.set(upd.subarray((w - 1) * inner, w * inner), r * inner);
    }
  },
};

/** Adds i32 or u32 updates as u32 bits: wrapping modulo 2^32 gives both dtypes' sums. */
export const addIntegerKernel: KernelSpec = {
  name: 'scatter.add_integer',
  shader,
  entryPoint: 'add_integer',
  cpu(launch) {
    const { indices, upd, sum } = launch.arrays;
    const { n, rows, inner } = params(launch);
    for (let i = 0; i < n; i++) {
      const r = rowOf(indices, i, rows);
      if (r === NO_ROW) continue;
      // Typed-array stores wrap modulo 2^32, as atomicAdd does.
      for (let c = 0, s = i * inner, d = r * inner; c < inner; c++) sum[d + c] += upd[s + c];
    }
  },
};

export const sortIotaKernel: KernelSpec = {
  name: 'scatter.sort_iota',
  shader,
  entryPoint: 'sort_iota',
  cpu(launch) {
    const { perm_next } = launch.arrays;
    const { n } = params(launch);
    for (let i = 0; i < n; i++) perm_next[i] = i;
  },
};

export const sortMergeKernel: KernelSpec = {
  name: 'scatter.sort_merge',
  shader,
  entryPoint: 'sort_merge',
  cpu(launch) {
    const { indices, perm, perm_next } = launch.arrays;
    const { n, rows, width } = params(launch);
    const before = (p: number, q: number) => {
      const rp = rowOf(indices, p, rows), rq = rowOf(indices, q, rows);
      return rp < rq || (rp === rq && p < q);
    };
    for (let start = 0; start < n; start += 2 * width) {
      const mid = Math.min(start + width, n), end = Math.min(start + 2 * width, n);
      let a = start, b = mid, d = start;
      while (a < mid && b < end) perm_next[d++] = before(perm[b], perm[a]) ? perm[b++] : perm[a++];
      while (a < mid) perm_next[d++] = perm[a++];
      while (b < end) perm_next[d++] = perm[b++];
    }
  },
};

export const addF32Kernel: KernelSpec = {
  name: 'scatter.add_f32',
  shader,
  entryPoint: 'add_f32',
  cpu(launch) {
    const { indices, perm, upd_f32, out_f32 } = launch.arrays;
    const { n, rows, inner } = params(launch);
    out_f32.fill(0, 0, rows * inner);
    // perm is sorted by (row, source position): Float32Array stores round each sum to f32.
    for (let q = 0; q < n; q++) {
      const src = perm[q];
      const r = rowOf(indices, src, rows);
      if (r === NO_ROW) break;
      for (let c = 0, s = src * inner, d = r * inner; c < inner; c++) out_f32[d + c] += upd_f32[s + c];
    }
  },
};

/**
 * Scatter along the first axis, in the spirit of tf.scatterND with indices of shape [n] (or [n, 1]):
 * out = zeros(shape); for i in 0..n: out[indices[i], ...] (op)= updates[i, ...], with updates of
 * shape [n, ...shape[1:]] (f32, i32 or u32) and the output of the updates' dtype.
 * - reduce 'assign' (default): among duplicate indices the update with the largest i wins.
 * - reduce 'add': duplicates sum; f32 sums run in ascending i from 0 (as tf.scatterND's CPU kernel),
 *   so results are bit-identical from run to run; i32 and u32 sums wrap modulo 2^32.
 * Indices outside [0, shape[0]) (negative ones included) are skipped.
 * Cost of f32 'add': ceil(log2 n) merge passes of O(n log n) work each; an output element sums its
 * row's updates serially, so a row that receives all n updates costs one thread n additions.
 */
export function scatter(engine: Engine, updates: Tensor, indices: Tensor, shape: Shape, options: ScatterOptions = {}, out?: Tensor): Tensor {
  const reduce = options.reduce ?? 'assign';
  if (!SCATTER_REDUCTIONS.includes(reduce)) throw new ParameterError('scatter reduce', reduce, SCATTER_REDUCTIONS.join(' | '));
  engine.expect(updates, 'scatter updates');
  engine.expect(indices, 'scatter indices');
  requireDType('scatter updates', updates, 'f32', 'i32', 'u32');
  requireDType('scatter indices', indices, 'i32');
  checkShape(shape, 'scatter shape');
  if (shape.length === 0) throw new ParameterError('scatter shape', shapeString(shape), 'a shape of rank >= 1');
  const n = indices.shape[0] ?? 0;
  if (!(indices.rank === 1 || (indices.rank === 2 && indices.shape[1] === 1))) {
    throw new ShapeError(`scatter indices: expected shape [n] or [n, 1], got ${indices.describe()}`);
  }
  const expected = [n, ...shape.slice(1)];
  if (!sameShape(updates.shape, expected)) {
    throw new ShapeError(`scatter updates: expected shape ${shapeString(expected)} (indices ${shapeString(indices.shape)}, shape ${shapeString(shape)}), got ${updates.describe()}`);
  }
  const sp: ScatterUniform = { n, rows: shape[0], inner: shapeSize(shape.slice(1)), width: 0 };
  // assign and integer add bind u32 views, in which Engine.run cannot see out alias an input: reject
  // here what it rejected (f32 add binds the tensors themselves).
  const viaViews = reduce === 'assign' || updates.dtype !== 'f32';
  if (viaViews && n > 0 && sp.rows * sp.inner > 0 && (out === updates || (out === indices && reduce === 'add'))) {
    throw new ShapeError(`scatter: out must not be an input that the ${reduce} reads, got ${out.describe()}`);
  }
  const writesEveryElement = n > 0 && (reduce === 'assign' || updates.dtype === 'f32');
  const result = writesEveryElement ? outputTensor(engine, 'scatter', shape, updates.dtype, out) : zeroedOutput(engine, shape, updates.dtype, out);
  if (n === 0 || result.size === 0) return result;
  if (reduce === 'assign') scatterAssign(engine, updates, indices, result, sp);
  else if (updates.dtype === 'f32') scatterAddF32(engine, updates, indices, result, sp);
  else scatterAddInteger(engine, updates, indices, result, sp);
  return result;
}

function zeroedOutput(engine: Engine, shape: Shape, dtype: DType, out?: Tensor): Tensor {
  if (!out) return engine.zeros(shape, dtype, 'scatter');
  outputTensor(engine, 'scatter', shape, dtype, out);
  const z = engine.zeros(shape, dtype);
  engine.copy(z, out);
  z.dispose();
  return out;
}

function launchGeometry(engine: Engine, invocations: number) {
  const wg = workgroupSize(engine);
  return { overrides: { WG: wg }, workgroups: grid1d(invocations, wg, engine.limits.maxComputeWorkgroupsPerDimension) };
}

function scatterAssign(engine: Engine, updates: Tensor, indices: Tensor, result: Tensor, sp: ScatterUniform): void {
  const winner = engine.zeros([sp.rows], 'u32', 'scatter.winner');
  engine.run({ kernel: assignWinnersKernel, bindings: { indices, winner_slots: winner }, uniforms: { sp: { ...sp } }, ...launchGeometry(engine, sp.n) });
  const upd = updates.view(updates.shape, 'u32');
  const out = result.view(result.shape, 'u32');
  engine.run({ kernel: assignWriteKernel, bindings: { winner, upd, out }, uniforms: { sp: { ...sp } }, ...launchGeometry(engine, sp.rows * sp.inner) });
  upd.dispose();
  out.dispose();
  winner.dispose();
}

/** Adds i32 or u32 updates into `result`, which must hold zeros. */
function scatterAddInteger(engine: Engine, updates: Tensor, indices: Tensor, result: Tensor, sp: ScatterUniform): void {
  const upd = updates.view(updates.shape, 'u32');
  const sum = result.view(result.shape, 'u32');
  engine.run({ kernel: addIntegerKernel, bindings: { indices, upd, sum }, uniforms: { sp: { ...sp } }, ...launchGeometry(engine, sp.n * sp.inner) });
  upd.dispose();
  sum.dispose();
}

/** Source positions sorted by (row, position), out-of-range rows last. */
function sortedSources(engine: Engine, indices: Tensor, sp: ScatterUniform): Tensor {
  let sorted = engine.empty([sp.n], 'u32', 'scatter.perm');
  let spare = engine.empty([sp.n], 'u32', 'scatter.perm2');
  const geometry = launchGeometry(engine, sp.n);
  engine.run({ kernel: sortIotaKernel, bindings: { perm_next: sorted }, uniforms: { sp: { ...sp } }, ...geometry });
  for (let width = 1; width < sp.n; width *= 2) {
    engine.run({ kernel: sortMergeKernel, bindings: { indices, perm: sorted, perm_next: spare }, uniforms: { sp: { ...sp, width } }, ...geometry });
    [sorted, spare] = [spare, sorted];
  }
  spare.dispose();
  return sorted;
}

function scatterAddF32(engine: Engine, updates: Tensor, indices: Tensor, result: Tensor, sp: ScatterUniform): void {
  const perm = sortedSources(engine, indices, sp);
  engine.run({
    kernel: addF32Kernel,
    bindings: { indices, perm, upd_f32: updates, out_f32: result },
    uniforms: { sp: { ...sp } },
    ...launchGeometry(engine, sp.rows * sp.inner),
  });
  perm.dispose();
}
