import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normalizeAxis, shapeString, splitAtAxis } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType, workgroupSize } from './common.js';

/**
 * Which elements a reduction combines. `axis` (negative counts from the end) defaults to the last
 * axis; `axis: null` reduces every element. A rank-0 tensor reduces its one element whatever the axis.
 * `keepDims` keeps the reduced axis (or every axis, for `axis: null`) as a 1.
 */
export interface ReduceOptions {
  axis?: number | null;
  keepDims?: boolean;
}

export interface VarianceOptions extends ReduceOptions {
  /** Divide by n - 1 (sample variance) instead of n (population variance, the default). */
  sample?: boolean;
}

const VALUE_OPS = { sum: 0, max: 1, min: 2 } as const;
type ValueOp = keyof typeof VALUE_OPS;
const ARG_OPS = { argmax: 0, argmin: 1 } as const;
type ArgOp = keyof typeof ARG_OPS;

/** The reduced input seen as [outer, len, inner]; `shape` is the output's shape. */
interface AxisView {
  outer: number;
  len: number;
  inner: number;
  shape: number[];
}

/** What a pass divides its result by: count - ddof (NaN when count <= ddof). */
interface Divisor {
  count: number;
  ddof: number;
}

type ReduceParams = {
  len: number;
  seg: number;
  chunks: number;
  inner: number;
  n_out: number;
  count: number;
  ddof: number;
};

// Tuning: the largest workgroup of the rows* kernels (their workgroup arrays hold this many), the shortest
// row a workgroup takes on, and when a pass is cut into segments so that more of the GPU works at once.
const MAX_WG = 256;
const ROW_MIN_LEN = 32;
const ROW_ITEMS_PER_INVOCATION = 32;
const ROW_TARGET_GROUPS = 2048;
const COL_ITEMS_PER_INVOCATION = 128;
const COL_TARGET_INVOCATIONS = 1 << 17;

// ---------------------------------------------------------------------------------------------
// CPU twins. They walk each (outer, segment, inner) in order, accumulate sums in f64 and round once
// per output, so they are at least as accurate as the GPU's fixed tree (results agree within rounding).

function paramsOf(launch: CpuLaunch): ReduceParams {
  return launch.uniforms.params as unknown as ReduceParams;
}

function divide(acc: number, p: ReduceParams, post: number): number {
  const r = Math.fround(acc);
  if (post === 0) return r;
  return p.count <= p.ddof ? NaN : Math.fround(r / (p.count - p.ddof));
}

/** sum (op 0), max (1), min (2) of src[begin, end), or with `center` the sum of squared deviations from it. */
function reduceRange(op: number, src: ArrayLike<number>, begin: number, end: number, center?: number): number {
  let a = op === 1 ? -Infinity : op === 2 ? Infinity : 0;
  if (center !== undefined) {
    for (let k = begin; k < end; k++) {
      const d = src[k] - center;
      a += d * d;
    }
  } else if (op === 0) {
    // Four independent f64 chains: the additions overlap instead of waiting on one another.
    let a1 = 0, a2 = 0, a3 = 0;
    let k = begin;
    for (; k + 3 < end; k += 4) {
      a += src[k];
      a1 += src[k + 1];
      a2 += src[k + 2];
      a3 += src[k + 3];
    }
    for (; k < end; k++) a += src[k];
    a += a1 + a2 + a3;
  } else if (op === 1) {
    for (let k = begin; k < end; k++) {
      const v = src[k];
      if (v > a) a = v;
      else if (v !== v) return NaN;
    }
  } else {
    for (let k = begin; k < end; k++) {
      const v = src[k];
      if (v < a) a = v;
      else if (v !== v) return NaN;
    }
  }
  return a;
}

/** The same over a strided axis, for `inner` outputs side by side (acc is updated in place). */
function reduceStrided(op: number, src: ArrayLike<number>, base: number, begin: number, end: number, inner: number, acc: Float64Array, center?: ArrayLike<number>, centerAt = 0): void {
  acc.fill(op === 1 ? -Infinity : op === 2 ? Infinity : 0);
  for (let k = begin; k < end; k++) {
    const row = base + k * inner;
    if (center) {
      for (let i = 0; i < inner; i++) {
        const d = src[row + i] - center[centerAt + i];
        acc[i] += d * d;
      }
    } else if (op === 0) {
      for (let i = 0; i < inner; i++) acc[i] += src[row + i];
    } else if (op === 1) {
      for (let i = 0; i < inner; i++) {
        const v = src[row + i];
        if (v > acc[i] || v !== v) acc[i] = v;
      }
    } else {
      for (let i = 0; i < inner; i++) {
        const v = src[row + i];
        if (v < acc[i] || v !== v) acc[i] = v;
      }
    }
  }
}

function reduceValuesCpu(launch: CpuLaunch, src: ArrayLike<number>, dst: Float32Array, center?: ArrayLike<number>): void {
  const p = paramsOf(launch);
  const op = center ? 0 : (launch.overrides.OP ?? 0);
  const post = launch.overrides.POST ?? 0;
  const { len, seg, chunks, inner } = p;
  const outer = p.n_out / (chunks * inner);
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < chunks; c++) {
      const begin = Math.min(c * seg, len);
      const end = Math.min(begin + seg, len);
      const at = (o * chunks + c) * inner;
      if (inner === 1) {
        dst[at] = divide(reduceRange(op, src, o * len + begin, o * len + end, center?.[o]), p, post);
        continue;
      }
      reduceStrided(op, src, o * len * inner, begin, end, inner, acc, center, o * inner);
      for (let i = 0; i < inner; i++) dst[at + i] = divide(acc[i], p, post);
    }
  }
}

/** The position in [begin, end) (non-empty) of the first NaN, else of the first largest sign·value. */
function argRange(sign: number, values: ArrayLike<number>, base: number, begin: number, end: number): number {
  let best = begin;
  let bv = sign * values[base + begin];
  if (bv !== bv) return best;
  for (let k = begin + 1; k < end; k++) {
    const v = sign * values[base + k];
    if (v > bv) {
      bv = v;
      best = k;
    } else if (v !== v) return k;
  }
  return best;
}

/**
 * argmax (sign 1) or argmin (-1) with a NaN first and ties to the smaller index. Without `indices`
 * the index is the position k along the axis; with them (partials of an earlier pass) it is read.
 */
function reduceArgCpu(launch: CpuLaunch, values: ArrayLike<number>, indices: ArrayLike<number> | null, outVal: Float32Array, outIdx: Int32Array): void {
  const p = paramsOf(launch);
  const sign = launch.overrides.OP === 1 ? -1 : 1;
  const { len, seg, chunks, inner } = p;
  const outer = p.n_out / (chunks * inner);
  const bestV = new Float64Array(inner);
  const bestI = new Int32Array(inner);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < chunks; c++) {
      const begin = Math.min(c * seg, len);
      const end = Math.min(begin + seg, len);
      if (inner === 1 && !indices) {
        const k = argRange(sign, values, o * len, begin, end);
        outVal[o * chunks + c] = values[o * len + k];
        outIdx[o * chunks + c] = k;
        continue;
      }
      bestI.fill(-1);
      for (let k = begin; k < end; k++) {
        const row = (o * len + k) * inner;
        for (let i = 0; i < inner; i++) {
          const v = values[row + i];
          const idx = indices ? indices[row + i] : k;
          const bi = bestI[i];
          const bv = bestV[i];
          let better: boolean;
          if (bi < 0) better = true;
          else if (bv !== bv) better = v !== v && idx < bi;
          else if (v !== v) better = true;
          else if (v === bv) better = idx < bi;
          else better = sign * v > sign * bv;
          if (better) {
            bestV[i] = v;
            bestI[i] = idx;
          }
        }
      }
      const at = (o * chunks + c) * inner;
      for (let i = 0; i < inner; i++) {
        outVal[at + i] = bestV[i];
        outIdx[at + i] = bestI[i];
      }
    }
  }
}

const shader = SHADERS.reduce;

function spec(entryPoint: string, cpu: KernelSpec['cpu']): KernelSpec {
  return { name: `reduce.${entryPoint}`, shader, entryPoint, cpu };
}

const valuesTwin: KernelSpec['cpu'] = (l) => reduceValuesCpu(l, l.arrays.x, l.arrays.out as Float32Array);
const sqdevTwin: KernelSpec['cpu'] = (l) => reduceValuesCpu(l, l.arrays.x, l.arrays.out as Float32Array, l.arrays.center);
const argTwin: KernelSpec['cpu'] = (l) => reduceArgCpu(l, l.arrays.x, null, l.arrays.out_val as Float32Array, l.arrays.out_idx as Int32Array);
const argCombineTwin: KernelSpec['cpu'] = (l) =>
  reduceArgCpu(l, l.arrays.part_val, l.arrays.part_idx, l.arrays.out_val as Float32Array, l.arrays.out_idx as Int32Array);

export const rowsKernel = spec('rows', valuesTwin);
export const rowsSqdevKernel = spec('rows_sqdev', sqdevTwin);
export const rowsArgKernel = spec('rows_arg', argTwin);
export const rowsArgCombineKernel = spec('rows_arg_combine', argCombineTwin);
export const colsKernel = spec('cols', valuesTwin);
export const colsSqdevKernel = spec('cols_sqdev', sqdevTwin);
export const colsArgKernel = spec('cols_arg', argTwin);
export const colsArgCombineKernel = spec('cols_arg_combine', argCombineTwin);

// ---------------------------------------------------------------------------------------------
// Dispatch geometry.

interface PassPlan {
  rows: boolean;
  wg: number;
  chunks: number;
  seg: number;
  nOut: number;
  workgroups: [number, number, number];
}

const floorPow2 = (n: number) => 2 ** Math.floor(Math.log2(n));
const ceilPow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(n, 1)));

/** Segments per output: enough to occupy about `target` workers, each taking at least `minSeg` elements. */
function segmentCount(len: number, minSeg: number, target: number, outputs: number): number {
  const byWork = Math.ceil(len / minSeg);
  const byOccupancy = Math.max(1, Math.floor(target / outputs));
  const chunks = Math.min(byWork, byOccupancy);
  if (chunks <= 1) return 1;
  return Math.ceil(len / Math.ceil(len / chunks));
}

/**
 * One pass over [outer, len, inner]: rows* (a workgroup per row segment) when inner = 1 and rows are
 * long, else cols* (an invocation per output segment). On the CPU backend every reduction is one pass.
 */
function planPass(engine: Engine, outer: number, len: number, inner: number): PassPlan {
  const split = engine.kind !== 'cpu';
  const maxDim = engine.limits.maxComputeWorkgroupsPerDimension;
  if (inner === 1 && len >= ROW_MIN_LEN) {
    const wgMax = floorPow2(workgroupSize(engine, MAX_WG));
    const wg = Math.min(wgMax, Math.max(Math.min(32, wgMax), ceilPow2(Math.ceil(len / 8))));
    const chunks = split ? segmentCount(len, wg * ROW_ITEMS_PER_INVOCATION, ROW_TARGET_GROUPS, outer) : 1;
    const seg = Math.ceil(len / chunks);
    const nOut = outer * chunks;
    return { rows: true, wg, chunks, seg, nOut, workgroups: grid1d(nOut * wg, wg, maxDim) };
  }
  const wg = workgroupSize(engine);
  const chunks = split ? segmentCount(len, COL_ITEMS_PER_INVOCATION, COL_TARGET_INVOCATIONS, outer * inner) : 1;
  const seg = Math.ceil(len / chunks);
  const nOut = outer * chunks * inner;
  return { rows: false, wg, chunks, seg, nOut, workgroups: grid1d(nOut, wg, maxDim) };
}

function uniformParams(plan: PassPlan, len: number, inner: number, divisor: Divisor | null): { params: ReduceParams } {
  return {
    params: { len, seg: plan.seg, chunks: plan.chunks, inner, n_out: plan.nOut, count: divisor?.count ?? 0, ddof: divisor?.ddof ?? 0 },
  };
}

/**
 * Reduces `input` over `view` into `dst` (outer·inner f32) in as many passes as planPass asks for,
 * each pass reducing the previous pass's partials. 'sqdev' sums (x - center)² in its first pass.
 * The divisor applies to the last pass only.
 */
function reduceValues(engine: Engine, op: ValueOp | 'sqdev', input: Tensor, view: AxisView, divisor: Divisor | null, dst: Tensor, center?: Tensor): void {
  const { outer, inner } = view;
  if (outer * inner === 0) return;
  let src = input;
  let len = view.len;
  for (let first = true; ; first = false) {
    const plan = planPass(engine, outer, len, inner);
    const last = plan.chunks === 1;
    const target = last ? dst : engine.empty([plan.nOut], 'f32', 'reduce.partials');
    const sqdev = first && op === 'sqdev';
    const kernel = plan.rows ? (sqdev ? rowsSqdevKernel : rowsKernel) : sqdev ? colsSqdevKernel : colsKernel;
    engine.run({
      kernel,
      bindings: sqdev && center ? { x: src, center, out: target } : { x: src, out: target },
      uniforms: uniformParams(plan, len, inner, divisor),
      overrides: { WG: plan.wg, OP: VALUE_OPS[op === 'sqdev' ? 'sum' : op], POST: last && divisor ? 1 : 0 },
      workgroups: plan.workgroups,
    });
    if (!first) src.dispose();
    if (last) return;
    src = target;
    len = plan.chunks;
  }
}

/** argmax/argmin over `view` into `dst` (outer·inner i32), passing (value, index) partials between passes. */
function reduceArg(engine: Engine, op: ArgOp, input: Tensor, view: AxisView, dst: Tensor): void {
  const { outer, inner } = view;
  if (outer * inner === 0) return;
  let vals: Tensor | null = null;
  let idx: Tensor | null = null;
  let len = view.len;
  for (;;) {
    const plan = planPass(engine, outer, len, inner);
    const last = plan.chunks === 1;
    const outVal = engine.empty([plan.nOut], 'f32', 'reduce.arg_values');
    const outIdx = last ? dst : engine.empty([plan.nOut], 'i32', 'reduce.arg_indices');
    const kernel = vals ? (plan.rows ? rowsArgCombineKernel : colsArgCombineKernel) : plan.rows ? rowsArgKernel : colsArgKernel;
    const sources: Record<string, Tensor> = vals && idx ? { part_val: vals, part_idx: idx } : { x: input };
    engine.run({
      kernel,
      bindings: { ...sources, out_val: outVal, out_idx: outIdx },
      uniforms: uniformParams(plan, len, inner, null),
      overrides: { WG: plan.wg, OP: ARG_OPS[op] },
      workgroups: plan.workgroups,
    });
    vals?.dispose();
    idx?.dispose();
    if (last) {
      outVal.dispose();
      return;
    }
    vals = outVal;
    idx = outIdx;
    len = plan.chunks;
  }
}

// ---------------------------------------------------------------------------------------------
// Public operations.

function checkOptions(what: string, options: VarianceOptions): void {
  if (typeof options !== 'object' || options === null) throw new ParameterError(`${what} options`, options, 'an object { axis?, keepDims? }');
  const { axis, keepDims, sample } = options;
  if (axis !== undefined && axis !== null && !Number.isInteger(axis)) throw new ParameterError(`${what} axis`, axis, 'an integer, or null for every element');
  if (keepDims !== undefined && typeof keepDims !== 'boolean') throw new ParameterError(`${what} keepDims`, keepDims, 'true or false');
  if (sample !== undefined && typeof sample !== 'boolean') throw new ParameterError(`${what} sample`, sample, 'true or false');
}

/** Validates the input and options and resolves the axis into [outer, len, inner] and the output shape. */
function axisView(what: string, x: Tensor, options: VarianceOptions): AxisView {
  requireDType(what, x, 'f32');
  checkOptions(what, options);
  const keepDims = options.keepDims ?? false;
  if (options.axis === null || x.rank === 0) {
    return { outer: 1, len: x.size, inner: 1, shape: keepDims ? x.shape.map(() => 1) : [] };
  }
  const axis = normalizeAxis(options.axis ?? -1, x.rank, `${what} axis`);
  const [outer, len, inner] = splitAtAxis(x.shape, axis);
  const shape = keepDims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return { outer, len, inner, shape };
}

/** The output tensor (`out` checked for shape and dtype); reductions cannot run in place. */
function reductionOutput(engine: Engine, what: string, x: Tensor, view: AxisView, dtype: 'f32' | 'i32', out?: Tensor): Tensor {
  if (out === x) throw new ShapeError(`${what}: out cannot be the input ${x.describe()}`);
  return outputTensor(engine, what, view.shape, dtype, out);
}

function valueReduction(what: string, op: ValueOp, withMean: boolean) {
  return (engine: Engine, x: Tensor, options: ReduceOptions = {}, out?: Tensor): Tensor => {
    const view = axisView(what, x, options);
    const y = reductionOutput(engine, what, x, view, 'f32', out);
    reduceValues(engine, op, x, view, withMean ? { count: view.len, ddof: 0 } : null, y);
    return y;
  };
}

function argReduction(what: ArgOp) {
  return (engine: Engine, x: Tensor, options: ReduceOptions = {}, out?: Tensor): Tensor => {
    const view = axisView(what, x, options);
    if (view.len === 0) {
      throw new ParameterError(`${what} axis`, options.axis === undefined ? -1 : options.axis, `an axis of non-zero length (${x.describe()} has length 0 there; ${what} of nothing is undefined)`);
    }
    const y = reductionOutput(engine, what, x, view, 'i32', out);
    reduceArg(engine, what, x, view, y);
    return y;
  };
}

/**
 * Sum of the elements along an axis (ReduceOptions), f32. An empty axis gives 0; NaN propagates.
 * The GPU sums in a fixed order (strided per-invocation sums, then a tree), so runs are bit-identical.
 */
export const sum = valueReduction('sum', 'sum', false);

/** Mean along an axis (ReduceOptions): the sum divided by n. An empty axis gives NaN; NaN propagates. */
export const mean = valueReduction('mean', 'sum', true);

/** Maximum along an axis (ReduceOptions). An empty axis gives -Infinity; any NaN gives NaN. */
export const max = valueReduction('max', 'max', false);

/** Minimum along an axis (ReduceOptions). An empty axis gives +Infinity; any NaN gives NaN. */
export const min = valueReduction('min', 'min', false);

/**
 * Index (i32) of the largest element along an axis (ReduceOptions; `axis: null` indexes the flattened
 * tensor). Ties go to the first index; a NaN counts as the largest, so the first NaN's index is
 * returned (NumPy's rule). An empty axis is rejected with a ParameterError.
 */
export const argmax = argReduction('argmax');

/** Index (i32) of the smallest element along an axis; ties, NaN and empty axes as for argmax. */
export const argmin = argReduction('argmin');

/**
 * Variance along an axis (VarianceOptions), two-pass: the mean, then the sum of squared deviations
 * from it, divided by n (population, default) or n - 1 (`sample: true`). NaN when the axis has no
 * more than the divisor's subtrahend elements (n = 0, or n = 1 for the sample form); NaN or Inf in
 * the input give NaN.
 */
export function variance(engine: Engine, x: Tensor, options: VarianceOptions = {}, out?: Tensor): Tensor {
  const view = axisView('variance', x, options);
  const y = reductionOutput(engine, 'variance', x, view, 'f32', out);
  if (view.outer * view.inner === 0) return y;
  const center = engine.empty([view.outer * view.inner], 'f32', 'variance.mean');
  reduceValues(engine, 'sum', x, view, { count: view.len, ddof: 0 }, center);
  reduceValues(engine, 'sqdev', x, view, { count: view.len, ddof: options.sample ? 1 : 0 }, y, center);
  center.dispose();
  return y;
}

/** Describes how a reduction of `x` is dispatched (for benchmarks and debugging). */
export function describeReduction(engine: Engine, x: Tensor, options: ReduceOptions = {}): string {
  const view = axisView('describeReduction', x, options);
  const passes: string[] = [];
  let len = view.len;
  for (;;) {
    const plan = planPass(engine, view.outer, len, view.inner);
    passes.push(`${plan.rows ? 'rows' : 'cols'}(wg ${plan.wg}, ${plan.chunks} segment(s) of ${plan.seg})`);
    if (plan.chunks === 1 || view.outer * view.inner === 0) break;
    len = plan.chunks;
  }
  return `${x.describe()} as [${view.outer}, ${view.len}, ${view.inner}] -> ${shapeString(view.shape)}: ${passes.join(' then ')}`;
}
