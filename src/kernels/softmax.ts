import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normalizeAxis, splitAtAxis } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType, workgroupSize } from './common.js';

// Local, not imported: a module binding read in a hot loop is a getter call under vitest's transform.
const f32 = Math.fround;

/** Terms per block of the two-level sums (BLOCK in shaders/softmax.wgsl). */
const BLOCK = 256;

// Loop budget: llvmpipe ends every loop of an invocation after 65535 loop iterations in all (see the
// shader's header), so each path below keeps an invocation's iterations well under it.
/** Direct row kernel: at most this many strided iterations per lane and pass (3 passes). */
const ROW_ITERATIONS = 8192;
/** Direct column kernel: the longest axis it walks (3 passes). */
const COLUMN_MAX_LEN = 8192;
/** Long axes: elements per chunk (2 passes), at most MAX_CHUNKS chunks (2 passes) per slice. */
const CHUNK = 8192;
const MAX_CHUNKS = 16384;
const MAX_CHUNK = 16384;

export interface AxisOptions {
  /** The axis to normalize along; negative counts from the end. Default: the last. */
  axis?: number;
}

export interface EntropyOptions extends AxisOptions {
  /** Added inside the log: -sum p·log(p + eps). Default 0 (then 0·log 0 is taken as 0). */
  eps?: number;
  /** Base of the logarithm: Math.E (default, nats) or 2 (bits), any finite base > 0 other than 1. */
  base?: number;
}

type AxisUniform = { outer: number; len: number; inner: number };
type ChunkUniform = AxisUniform & { chunk: number; chunks: number };
type EntropyUniform = AxisUniform & { eps: number; scale: number };

/** log s(v) of StableMax: log(1 + v) for v >= 0, -log(1 - v) for v < 0 (NaN kept). */
export function logS(v: number): number {
  return v >= 0 ? f32(Math.log1p(v)) : f32(-Math.log1p(-v));
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function pow2Floor(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/** Sums a[0..n) (n a power of two) in the shader's tree order; a is overwritten. */
function treeSum(a: Float32Array, n: number): number {
  for (let s = n >> 1; s > 0; s >>= 1) {
    for (let l = 0; l < s; l++) a[l] += a[l + s];
  }
  return a[0];
}

/**
 * The shader's row sum of terms[0..len): lane l of `wg` takes terms l, l + wg, ... in blocks of BLOCK,
 * then the lanes meet in a tree. Lanes past the row's end hold 0, so the tree spans nextPow2(min(len, wg)).
 */
class LaneSum {
  readonly #acc: Float32Array;
  readonly #blk: Float32Array;
  readonly #wg: number;

  constructor(wg: number) {
    this.#acc = new Float32Array(wg);
    this.#blk = new Float32Array(wg);
    this.#wg = wg;
  }

  sum(terms: Float32Array, len: number): number {
    const acc = this.#acc, blk = this.#blk, mask = this.#wg - 1;
    const lanes = Math.min(this.#wg, nextPow2(len));
    acc.fill(0, 0, lanes);
    blk.fill(0, 0, lanes);
    const chunk = this.#wg * BLOCK;
    for (let start = 0; start < len; start += chunk) {
      const end = Math.min(len, start + chunk);
      for (let i = start; i < end; i++) blk[i & mask] += terms[i];
      for (let l = 0; l < lanes; l++) {
        acc[l] += blk[l];
        blk[l] = 0;
      }
    }
    return treeSum(acc, lanes);
  }
}

type F32 = CpuLaunch['arrays'][string];

/** Pass 1: y = logits, returns their max (NaN when any is NaN). */
function logitsAndMax(x: F32, y: F32, first: number, end: number, stride: number, stable: boolean): number {
  let m = -Infinity, nan = false;
  for (let i = first; i < end; i += stride) {
    const t = stable ? logS(x[i]) : x[i];
    y[i] = t;
    if (t !== t) nan = true;
    else if (t > m) m = t;
  }
  return nan ? NaN : m;
}

/** Pass 2: e = exp(y - m) into terms (and y = y - m when log, else y = e). */
function shiftedExps(y: F32, first: number, len: number, m: number, log: boolean, terms: Float32Array): void {
  for (let j = 0, i = first; j < len; j++, i++) {
    const d = f32(y[i] - m);
    const e = f32(Math.exp(d));
    terms[j] = e;
    y[i] = log ? d : e;
  }
}

/** Pass 3: y = y / total, or y - log(total) when log; NaN over the slice when its max is not finite. */
function normalizeRange(y: F32, first: number, len: number, stride: number, m: number, total: number, log: boolean): void {
  const end = first + len * stride;
  if (!Number.isFinite(m)) {
    for (let i = first; i < end; i += stride) y[i] = NaN;
  } else if (log) {
    const logTotal = f32(Math.log(total));
    for (let i = first; i < end; i += stride) y[i] -= logTotal;
  } else {
    for (let i = first; i < end; i += stride) y[i] /= total;
  }
}

function softmaxRowsCpu({ arrays: { x, y }, uniforms: { sp }, overrides }: CpuLaunch): void {
  const { outer, len } = sp as AxisUniform;
  const log = overrides.LOG === 1, stable = overrides.STABLE === 1;
  const laneSum = new LaneSum(overrides.WG);
  const terms = new Float32Array(len);
  for (let r = 0; r < outer; r++) {
    const b = r * len;
    const m = logitsAndMax(x, y, b, b + len, 1, stable);
    let total = 0;
    if (Number.isFinite(m)) {
      shiftedExps(y, b, len, m, log, terms);
      total = laneSum.sum(terms, len);
    }
    normalizeRange(y, b, len, 1, m, total, log);
  }
}

function softmaxColumnsCpu({ arrays: { x, y }, uniforms: { sp }, overrides }: CpuLaunch): void {
  const { outer, len, inner } = sp as AxisUniform;
  const log = overrides.LOG === 1, stable = overrides.STABLE === 1;
  const m = new Float32Array(inner), acc = new Float32Array(inner), blk = new Float32Array(inner);
  for (let o = 0; o < outer; o++) {
    const b = o * len * inner;
    for (let k = 0; k < inner; k++) m[k] = logitsAndMax(x, y, b + k, b + len * inner, inner, stable);
    acc.fill(0);
    blk.fill(0);
    for (let j = 0; j < len; j++) {
      const row = b + j * inner;
      for (let k = 0; k < inner; k++) {
        const d = f32(y[row + k] - m[k]);
        const e = f32(Math.exp(d));
        y[row + k] = log ? d : e;
        blk[k] += e;
      }
      if ((j + 1) % BLOCK === 0) {
        for (let k = 0; k < inner; k++) acc[k] += blk[k];
        blk.fill(0);
      }
    }
    for (let k = 0; k < inner; k++) {
      acc[k] += blk[k];
      normalizeRange(y, b + k, len, inner, m[k], acc[k], log);
    }
  }
}

function entropyTerms(p: F32, first: number, len: number, eps: number, terms: Float32Array): void {
  for (let j = 0, i = first; j < len; j++, i++) {
    const q = p[i];
    terms[j] = q !== q ? q : q === 0 ? 0 : f32(q * f32(Math.log(f32(q + eps))));
  }
}

function entropyRowsCpu({ arrays: { p, h }, uniforms: { ep }, overrides }: CpuLaunch): void {
  const { outer, len, eps, scale } = ep as EntropyUniform;
  const e32 = f32(eps), s32 = f32(scale);
  const laneSum = new LaneSum(overrides.WG);
  const terms = new Float32Array(len);
  for (let r = 0; r < outer; r++) {
    entropyTerms(p, r * len, len, e32, terms);
    h[r] = (0 - laneSum.sum(terms, len)) * s32;
  }
}

function entropyColumnsCpu({ arrays: { p, h }, uniforms: { ep } }: CpuLaunch): void {
  const { outer, len, inner, eps, scale } = ep as EntropyUniform;
  const e32 = f32(eps), s32 = f32(scale);
  const acc = new Float32Array(inner), blk = new Float32Array(inner), terms = new Float32Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    blk.fill(0);
    for (let j = 0; j < len; j++) {
      entropyTerms(p, (o * len + j) * inner, inner, e32, terms);
      for (let k = 0; k < inner; k++) blk[k] += terms[k];
      if ((j + 1) % BLOCK === 0) {
        for (let k = 0; k < inner; k++) acc[k] += blk[k];
        blk.fill(0);
      }
    }
    for (let k = 0; k < inner; k++) h[o * inner + k] = (0 - (acc[k] + blk[k])) * s32;
  }
}

/** Sequential f32 sum of terms[0..n) in blocks of BLOCK, as the shader sums along a chunk. */
function blockedSum(terms: Float32Array, n: number): number {
  let acc = 0;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let blk = 0;
    for (let j = start; j < end; j++) blk = f32(blk + terms[j]);
    acc = f32(acc + blk);
  }
  return acc;
}

/** Visits every chunk of every slice: id = (o * chunks + c) * inner + k, elements first + j * inner. */
function forEachChunk(u: ChunkUniform, visit: (id: number, first: number, n: number) => void): void {
  const { outer, len, inner, chunk, chunks } = u;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < chunks; c++) {
      const start = c * chunk, n = Math.min(len, start + chunk) - start;
      for (let k = 0; k < inner; k++) visit((o * chunks + c) * inner + k, (o * len + start) * inner + k, n);
    }
  }
}

function softmaxChunkPartialsCpu({ arrays: { x, y, part_max, part_sum }, uniforms: { cp }, overrides }: CpuLaunch): void {
  const u = cp as ChunkUniform;
  const stable = overrides.STABLE === 1, inner = u.inner;
  const terms = new Float32Array(Math.min(u.chunk, u.len));
  forEachChunk(u, (id, first, n) => {
    const m = logitsAndMax(x, y, first, first + n * inner, inner, stable);
    part_max[id] = m;
    if (!Number.isFinite(m)) {
      part_sum[id] = 0;
      return;
    }
    for (let j = 0, i = first; j < n; j++, i += inner) terms[j] = f32(Math.exp(f32(y[i] - m)));
    part_sum[id] = blockedSum(terms, n);
  });
}

function softmaxChunkCombineCpu({ arrays: { chunk_max, chunk_sum, stat_max, stat_sum }, uniforms: { cp }, overrides }: CpuLaunch): void {
  const { outer, inner, chunks } = cp as ChunkUniform;
  const log = overrides.LOG === 1;
  for (let id = 0; id < outer * inner; id++) {
    const first = Math.floor(id / inner) * chunks * inner + (id % inner);
    let m = -Infinity, nan = false;
    for (let c = 0; c < chunks; c++) {
      const v = chunk_max[first + c * inner];
      if (v !== v) nan = true;
      else if (v > m) m = v;
    }
    let total = 0;
    for (let c = 0; c < chunks; c++) {
      const mc = chunk_max[first + c * inner];
      if (Number.isFinite(mc)) total = f32(total + f32(chunk_sum[first + c * inner] * f32(Math.exp(f32(mc - m)))));
    }
    stat_max[id] = nan ? NaN : m;
    stat_sum[id] = log ? f32(Math.log(total)) : total;
  }
}

function softmaxChunkApplyCpu({ arrays: { y, slice_max, slice_sum }, uniforms: { cp }, overrides }: CpuLaunch): void {
  const { outer, len, inner } = cp as ChunkUniform;
  const log = overrides.LOG === 1;
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      const s = o * inner + k, m = slice_max[s], sum = slice_sum[s];
      const first = o * len * inner + k, end = first + len * inner;
      if (!Number.isFinite(m)) {
        for (let i = first; i < end; i += inner) y[i] = NaN;
      } else if (log) {
        for (let i = first; i < end; i += inner) y[i] = f32(y[i] - m) - sum;
      } else {
        for (let i = first; i < end; i += inner) y[i] = f32(Math.exp(f32(y[i] - m))) / sum;
      }
    }
  }
}

function entropyChunkPartialsCpu({ arrays: { p, part_sum }, uniforms: { cp, ep } }: CpuLaunch): void {
  const u = cp as ChunkUniform;
  const eps = f32((ep as EntropyUniform).eps), inner = u.inner;
  const terms = new Float32Array(Math.min(u.chunk, u.len)), one = new Float32Array(1);
  forEachChunk(u, (id, first, n) => {
    if (inner === 1) {
      entropyTerms(p, first, n, eps, terms);
    } else {
      for (let j = 0; j < n; j++) {
        entropyTerms(p, first + j * inner, 1, eps, one);
        terms[j] = one[0];
      }
    }
    part_sum[id] = blockedSum(terms, n);
  });
}

function entropyChunkCombineCpu({ arrays: { chunk_sum, h }, uniforms: { cp, ep } }: CpuLaunch): void {
  const { outer, inner, chunks } = cp as ChunkUniform;
  const scale = f32((ep as EntropyUniform).scale);
  for (let id = 0; id < outer * inner; id++) {
    const first = Math.floor(id / inner) * chunks * inner + (id % inner);
    let total = 0;
    for (let c = 0; c < chunks; c++) total = f32(total + chunk_sum[first + c * inner]);
    h[id] = (0 - total) * scale;
  }
}

const shader = SHADERS.softmax;

export const softmaxRowsKernel: KernelSpec = { name: 'softmax.rows', shader, entryPoint: 'softmax_rows', cpu: softmaxRowsCpu };
export const softmaxColumnsKernel: KernelSpec = { name: 'softmax.columns', shader, entryPoint: 'softmax_columns', cpu: softmaxColumnsCpu };
export const entropyRowsKernel: KernelSpec = { name: 'softmax.entropy_rows', shader, entryPoint: 'entropy_rows', cpu: entropyRowsCpu };
export const entropyColumnsKernel: KernelSpec = { name: 'softmax.entropy_columns', shader, entryPoint: 'entropy_columns', cpu: entropyColumnsCpu };
export const softmaxChunkPartialsKernel: KernelSpec = { name: 'softmax.chunk_partials', shader, entryPoint: 'softmax_chunk_partials', cpu: softmaxChunkPartialsCpu };
export const softmaxChunkCombineKernel: KernelSpec = { name: 'softmax.chunk_combine', shader, entryPoint: 'softmax_chunk_combine', cpu: softmaxChunkCombineCpu };
export const softmaxChunkApplyKernel: KernelSpec = { name: 'softmax.chunk_apply', shader, entryPoint: 'softmax_chunk_apply', cpu: softmaxChunkApplyCpu };
export const entropyChunkPartialsKernel: KernelSpec = { name: 'softmax.entropy_chunk_partials', shader, entryPoint: 'entropy_chunk_partials', cpu: entropyChunkPartialsCpu };
export const entropyChunkCombineKernel: KernelSpec = { name: 'softmax.entropy_chunk_combine', shader, entryPoint: 'entropy_chunk_combine', cpu: entropyChunkCombineCpu };

/** Rows: a power of two, no wider than the row needs (at least 32 lanes), within the device's limits. */
function rowWorkgroupSize(engine: Engine, len: number): number {
  return Math.min(pow2Floor(workgroupSize(engine, 256)), Math.max(32, nextPow2(len)));
}

/** How a reduction along one axis runs: which kernels, with which workgroup size and chunking. */
export interface AxisPlan {
  axis: number;
  outer: number;
  len: number;
  inner: number;
  /** rows: one workgroup per row; columns: one invocation per column; chunks: partials, combine, apply. */
  path: 'rows' | 'columns' | 'chunks';
  workgroupSize: number;
  /** chunks path: elements per chunk and chunks per slice. */
  chunk: number;
  chunks: number;
}

/** The plan for a tensor of `shape` along `axis` (validated: throws before any work). */
export function axisPlan(engine: Engine, shape: readonly number[], axis?: number): AxisPlan {
  const a = normalizeAxis(axis ?? Math.max(shape.length - 1, 0), shape.length);
  const [outer, len, inner] = splitAtAxis(shape, a);
  const base = { axis: a, outer, len, inner, chunk: 0, chunks: 0 };
  const rowWg = rowWorkgroupSize(engine, len);
  if (inner === 1 && len <= rowWg * ROW_ITERATIONS) return { ...base, path: 'rows', workgroupSize: rowWg };
  const wg = workgroupSize(engine, 256);
  if (inner > 1 && len <= COLUMN_MAX_LEN) return { ...base, path: 'columns', workgroupSize: wg };
  const chunk = Math.max(CHUNK, Math.ceil(len / MAX_CHUNKS));
  if (chunk > MAX_CHUNK) {
    throw new ShapeError(`softmax family: an axis of ${len} elements is longer than the ${MAX_CHUNK * MAX_CHUNKS} supported (shape [${shape.join(', ')}])`);
  }
  return { ...base, path: 'chunks', workgroupSize: wg, chunk, chunks: Math.ceil(len / chunk) };
}

function chunkUniform(plan: AxisPlan): ChunkUniform {
  return { outer: plan.outer, len: plan.len, inner: plan.inner, chunk: plan.chunk, chunks: plan.chunks };
}

function softmaxFamily(engine: Engine, what: string, x: Tensor, options: AxisOptions, out: Tensor | undefined, log: boolean, stable: boolean): Tensor {
  requireDType(what, x, 'f32');
  const plan = axisPlan(engine, x.shape, options.axis);
  const y = outputTensor(engine, what, x.shape, 'f32', out);
  if (x.size === 0) return y;
  const WG = plan.workgroupSize, LOG = log ? 1 : 0, STABLE = stable ? 1 : 0;
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (plan.path !== 'chunks') {
    const sp = { outer: plan.outer, len: plan.len, inner: plan.inner };
    const rows = plan.path === 'rows';
    engine.run({
      kernel: rows ? softmaxRowsKernel : softmaxColumnsKernel,
      bindings: { x, y },
      uniforms: { sp },
      overrides: { WG, LOG, STABLE },
      workgroups: rows ? grid1d(plan.outer, 1, max) : grid1d(plan.outer * plan.inner, WG, max),
    });
    return y;
  }
  const cp = chunkUniform(plan);
  const parts = plan.outer * plan.chunks * plan.inner, slices = plan.outer * plan.inner;
  const partMax = engine.empty([parts], 'f32', `${what}:chunk_max`), partSum = engine.empty([parts], 'f32', `${what}:chunk_sum`);
  engine.run({ kernel: softmaxChunkPartialsKernel, bindings: { x, y, part_max: partMax, part_sum: partSum }, uniforms: { cp }, overrides: { WG, STABLE }, workgroups: grid1d(parts, WG, max) });
  const statMax = engine.empty([slices], 'f32', `${what}:max`), statSum = engine.empty([slices], 'f32', `${what}:sum`);
  engine.run({
    kernel: softmaxChunkCombineKernel,
    bindings: { chunk_max: partMax, chunk_sum: partSum, stat_max: statMax, stat_sum: statSum },
    uniforms: { cp },
    overrides: { WG, LOG },
    workgroups: grid1d(slices, WG, max),
  });
  partMax.dispose();
  partSum.dispose();
  engine.run({ kernel: softmaxChunkApplyKernel, bindings: { y, slice_max: statMax, slice_sum: statSum }, uniforms: { cp }, overrides: { WG, LOG }, workgroups: grid1d(x.size, WG, max) });
  statMax.dispose();
  statSum.dispose();
  return y;
}

/*
 * Edge semantics shared by softmax, logSoftmax, stablemax and logStablemax, per slice along the axis:
 * - an empty axis (or any empty tensor) gives an empty output;
 * - a slice holding NaN gives NaN over that slice; other slices are unaffected;
 * - a slice holding +Inf gives NaN over that slice (as tfjs's softmax does), and so does a slice whose
 *   entries are all -Inf;
 * - otherwise -Inf entries get probability 0 (log-probability -Inf);
 * - ties share the probability equally; huge finite logits do not overflow (max-subtracted).
 * `out` (optional) must have x's shape and must not be x itself.
 */

/** softmax(x)_i = exp(x_i - max x) / sum_j exp(x_j - max x) along `axis` (default the last). */
export function softmax(engine: Engine, x: Tensor, options: AxisOptions = {}, out?: Tensor): Tensor {
  return softmaxFamily(engine, 'softmax', x, options, out, false, false);
}

/** log softmax(x)_i = (x_i - max x) - log sum_j exp(x_j - max x) along `axis` (default the last). */
export function logSoftmax(engine: Engine, x: Tensor, options: AxisOptions = {}, out?: Tensor): Tensor {
  return softmaxFamily(engine, 'logSoftmax', x, options, out, true, false);
}

/** StableMax (SCIENCE.md §2): s(x_i) / sum_j s(x_j), s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0. */
export function stablemax(engine: Engine, x: Tensor, options: AxisOptions = {}, out?: Tensor): Tensor {
  return softmaxFamily(engine, 'stablemax', x, options, out, false, true);
}

/** log StableMax: log s(x_i) - log sum_j s(x_j), with log s computed stably (log1p). */
export function logStablemax(engine: Engine, x: Tensor, options: AxisOptions = {}, out?: Tensor): Tensor {
  return softmaxFamily(engine, 'logStablemax', x, options, out, true, true);
}

function checkEntropyOptions(options: EntropyOptions): { eps: number; base: number } {
  const eps = options.eps ?? 0;
  const base = options.base ?? Math.E;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps < 0) throw new ParameterError('entropy eps', eps, 'a finite number >= 0');
  if (typeof base !== 'number' || !Number.isFinite(base) || base <= 0 || base === 1) {
    throw new ParameterError('entropy base', base, 'a finite number > 0 other than 1 (Math.E: nats, 2: bits)');
  }
  return { eps, base };
}

/**
 * H = -sum_j p_j · log(p_j + eps) / log(base) along `axis` (default the last), which is removed from the
 * output's shape. p is not checked to be a distribution. With eps = 0 a zero entry contributes 0; an
 * empty axis gives 0; a slice holding NaN gives NaN; a negative entry gives NaN (its log).
 * SCIENCE.md: activation entropy {eps: 1e-10} (nats), target entropy {eps: 1e-10, base: 2}.
 */
export function entropy(engine: Engine, p: Tensor, options: EntropyOptions = {}, out?: Tensor): Tensor {
  requireDType('entropy', p, 'f32');
  const plan = axisPlan(engine, p.shape, options.axis);
  const { eps, base } = checkEntropyOptions(options);
  const shape = p.shape.filter((_, d) => d !== plan.axis);
  const h = outputTensor(engine, 'entropy', shape, 'f32', out);
  if (h.size === 0) return h;
  const ep = { outer: plan.outer, len: plan.len, inner: plan.inner, eps, scale: 1 / Math.log(base) };
  const WG = plan.workgroupSize;
  const max = engine.limits.maxComputeWorkgroupsPerDimension;
  if (plan.path !== 'chunks') {
    const rows = plan.path === 'rows';
    engine.run({
      kernel: rows ? entropyRowsKernel : entropyColumnsKernel,
      bindings: { p, h },
      uniforms: { ep },
      overrides: { WG },
      workgroups: rows ? grid1d(plan.outer, 1, max) : grid1d(plan.outer * plan.inner, WG, max),
    });
    return h;
  }
  const cp = chunkUniform(plan);
  const parts = plan.outer * plan.chunks * plan.inner;
  const partSum = engine.empty([parts], 'f32', 'entropy:chunk_sum');
  engine.run({ kernel: entropyChunkPartialsKernel, bindings: { p, part_sum: partSum }, uniforms: { cp, ep }, overrides: { WG }, workgroups: grid1d(parts, WG, max) });
  engine.run({ kernel: entropyChunkCombineKernel, bindings: { chunk_sum: partSum, h }, uniforms: { cp, ep }, overrides: { WG }, workgroups: grid1d(h.size, WG, max) });
  partSum.dispose();
  return h;
}
