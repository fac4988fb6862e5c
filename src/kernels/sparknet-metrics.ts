import type { AnyTypedArray } from '../engine/dtype.js';
import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, requireDType, workgroupSize } from './common.js';

/** The metrics SparkNet reports (SCIENCE.md §1), in the order of sparknetMetrics' output. */
export const SPARK_METRICS = [
  'wMean', 'wStd', 'wPositive', 'mMean', 'mMax', 'mActive', 'sMean', 'visitEntropy', 'diagonalMass', 'layoutMotion',
] as const;
export type SparkMetricName = (typeof SPARK_METRICS)[number];
export type SparkMetrics = Record<SparkMetricName, number>;

/** A memory field value above this counts as active (the mActive fraction). */
export const M_ACTIVE_THRESHOLD = 1e-6;

/** Rows [row0, row0 + rows) of a dense W, as a tensor [rows, N] (or flat [rows·N]). */
export interface RowBlock {
  w: Tensor;
  row0: number;
}

/**
 * SparkNet's weights (scratch/SPARKNET.md): true weight = wScale · stored value.
 * dense: w [N, N] or [N·N] row-major (w[i·N + j] is the weight from j to i), or a list of row blocks
 * that together hold every row exactly once (for N whose W exceeds one binding).
 * csr: rowPtr u32 [N+1], colIdx u32 [nnz], w f32 [nnz].
 */
export type SparkWeights =
  | { kind: 'dense'; w: Tensor | readonly RowBlock[]; wScale: number }
  | { kind: 'csr'; rowPtr: Tensor; colIdx: Tensor; w: Tensor; wScale: number };

export interface DenseBlock {
  w: Tensor;
  row0: number;
  rows: number;
}

/** Weights after validation: dense as row blocks sorted by row0. */
export type ResolvedWeights =
  | { kind: 'dense'; blocks: DenseBlock[]; wScale: number }
  | { kind: 'csr'; rowPtr: Tensor; colIdx: Tensor; w: Tensor; nnz: number; wScale: number };

function requireLive(what: string, t: unknown): Tensor {
  if (typeof t !== 'object' || t === null || !('describe' in t)) throw new ParameterError(what, t, 'a tensor');
  const tensor = t as Tensor;
  if (tensor.disposed) throw new ShapeError(`${what}: ${tensor.describe()} was disposed`);
  return tensor;
}

function denseBlock(what: string, w: unknown, row0: unknown, n: number): DenseBlock {
  const t = requireLive(what, w);
  requireDType(what, t, 'f32');
  if (!Number.isInteger(row0) || (row0 as number) < 0 || (row0 as number) >= Math.max(n, 1)) {
    throw new ParameterError(`${what} row0`, row0, `an integer in [0, ${Math.max(n - 1, 0)}]`);
  }
  const rows = n === 0 ? 0 : t.size / n;
  const flat = t.rank === 1;
  const matrix = t.rank === 2 && t.shape[1] === n;
  if (!Number.isInteger(rows) || rows < 1 || !(flat || matrix)) {
    throw new ShapeError(`${what}: expected [rows, ${n}] or [rows·${n}] f32 with rows >= 1, got ${t.describe()}`);
  }
  return { w: t, row0: row0 as number, rows };
}

/** Sorted by row0, the blocks must cover the rows [0, n) once each. */
function checkCoverage(blocks: DenseBlock[], n: number): void {
  blocks.sort((a, b) => a.row0 - b.row0);
  let next = 0;
  for (const b of blocks) {
    if (b.row0 !== next) {
      throw new ShapeError(`dense W row blocks: ${b.w.describe()} starts at row ${b.row0}, expected row ${next} (blocks must cover rows [0, ${n}) once each)`);
    }
    next += b.rows;
  }
  if (next !== n) throw new ShapeError(`dense W row blocks cover rows [0, ${next}), expected [0, ${n})`);
}

/**
 * Validates SparkNet weights for N neurons (shapes and dtypes; CSR contents are trusted: row_ptr
 * nondecreasing from 0 to nnz, columns < N) and wScale (finite, > 0).
 */
export function resolveWeights(n: number, weights: SparkWeights): ResolvedWeights {
  if (typeof weights !== 'object' || weights === null) throw new ParameterError('weights', weights, "{ kind: 'dense' | 'csr', ... }");
  const { wScale } = weights;
  if (typeof wScale !== 'number' || !Number.isFinite(wScale) || wScale <= 0) throw new ParameterError('wScale', wScale, 'a finite number > 0');
  if (weights.kind === 'dense') {
    const { w } = weights;
    if (n * n > 0xffffffff) throw new ParameterError('N', n, 'at most 65535 for dense W (use CSR weights beyond)');
    if (Array.isArray(w)) {
      if (n > 0 && w.length === 0) throw new ParameterError('dense W row blocks', w, 'at least one block');
      const blocks = (w as readonly RowBlock[]).map((b, k) => denseBlock(`dense W block ${k}`, b?.w, b?.row0, n));
      if (n > 0) checkCoverage(blocks, n);
      return { kind: 'dense', blocks, wScale };
    }
    const t = requireLive('dense W', w);
    requireDType('dense W', t, 'f32');
    const ok = t.size === n * n && ((t.rank === 1) || (t.rank === 2 && t.shape[0] === n && t.shape[1] === n));
    if (!ok) throw new ShapeError(`dense W: expected [${n}, ${n}] or [${n * n}] f32, got ${t.describe()}`);
    return { kind: 'dense', blocks: n === 0 ? [] : [{ w: t, row0: 0, rows: n }], wScale };
  }
  if (weights.kind === 'csr') {
    const rowPtr = requireLive('CSR rowPtr', weights.rowPtr);
    const colIdx = requireLive('CSR colIdx', weights.colIdx);
    const w = requireLive('CSR w', weights.w);
    engineExpect(rowPtr, 'CSR rowPtr', [n + 1], 'u32');
    if (colIdx.rank !== 1) throw new ShapeError(`CSR colIdx: expected [nnz] u32, got ${colIdx.describe()}`);
    requireDType('CSR colIdx', colIdx, 'u32');
    engineExpect(w, 'CSR w', [colIdx.size], 'f32');
    return { kind: 'csr', rowPtr, colIdx, w, nnz: w.size, wScale };
  }
  throw new ParameterError('weights.kind', (weights as { kind: unknown }).kind, "'dense' or 'csr'");
}

function engineExpect(t: Tensor, what: string, shape: number[], dtype: 'f32' | 'u32'): void {
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]) || t.dtype !== dtype) {
    throw new ShapeError(`${what}: expected [${shape.join(', ')}] ${dtype}, got ${t.describe()}`);
  }
}

// ---------------------------------------------------------------------------------------------
// CPU twins: the same records as the WGSL (one per workgroup's chunk or rows), accumulated in f64 and
// rounded once per record; the combine merges the f32 records in f64.

type MetricParams = {
  n: number;
  count: number;
  row0: number;
  chunk: number;
  part_offset: number;
  w_parts: number;
  v_parts: number;
  w_count: number;
  w_scale: number;
  has_motion: number;
};

const LANES = 5;
const W_LANES = 5;
const WORK_ITEMS_PER_INVOCATION = 32;

function paramsOf(launch: CpuLaunch): MetricParams {
  return launch.uniforms.mp as unknown as MetricParams;
}

/** The W record of values[first, end) (stride 1) in f64: count, mean, M2, sum |w|, and the positive count. */
function wRecord(values: ArrayLike<number>, first: number, end: number): number[] {
  let sum = 0;
  for (let e = first; e < end; e++) sum += values[e];
  const count = end - first;
  const mean = count > 0 ? sum / count : 0;
  let m2 = 0, total = 0, positive = 0;
  for (let e = first; e < end; e++) {
    const v = values[e];
    m2 += (v - mean) * (v - mean);
    total += Math.abs(v);
    if (v > 0) positive++;
  }
  return [count, mean, m2, total, positive];
}

/** (count, mean, M2) of the union of two sets, as chan() in the WGSL. */
function chan(a: number[], b: number[]): number[] {
  if (b[0] === 0) return a;
  if (a[0] === 0) return b;
  const n = a[0] + b[0];
  const delta = b[1] - a[1];
  return [n, a[1] + (delta * b[0]) / n, a[2] + b[2] + (delta * delta * a[0] * b[0]) / n];
}

function writeWRecord(part: AnyTypedArray, pos: AnyTypedArray, at: number, record: number[], diag: number): void {
  const [count, mean, m2, total, positive] = record;
  part.set([count, mean, m2, total, diag], at * W_LANES);
  pos[at] = positive;
}

function denseStatsCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { wvals, w_part, w_pos } = launch.arrays;
  const { n, count, chunk, row0 } = p;
  for (let g = 0, start = 0; start < count; g++, start += chunk) {
    const end = Math.min(start + chunk, count);
    let diag = 0;
    for (let r = Math.floor(start / n); r <= Math.floor((end - 1) / n); r++) {
      const i = row0 + r;
      for (let j = Math.max(i, 1) - 1; j <= Math.min(i + 1, n - 1); j++) {
        const e = r * n + j;
        if (e >= start && e < end) diag += Math.abs(wvals[e]);
      }
    }
    writeWRecord(w_part, w_pos, p.part_offset + g, wRecord(wvals, start, end), diag);
  }
}

function csrStatsCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { wvals, row_ptr, col_idx, w_part, w_pos } = launch.arrays;
  const wg = launch.overrides.WG;
  for (let g = 0; g * wg < p.n; g++) {
    const first = row_ptr[g * wg], end = row_ptr[Math.min((g + 1) * wg, p.n)];
    let diag = 0;
    for (let i = g * wg; i < Math.min((g + 1) * wg, p.n); i++) {
      for (let e = row_ptr[i]; e < row_ptr[i + 1]; e++) if (Math.abs(col_idx[e] - i) <= 1) diag += Math.abs(wvals[e]);
    }
    writeWRecord(w_part, w_pos, p.part_offset + g, wRecord(wvals, first, end), diag);
  }
}

const THRESHOLD_F32 = f32(M_ACTIVE_THRESHOLD);

function maxKeepNaN(a: number, b: number): number {
  if (a !== a || b !== b) return NaN;
  return b > a ? b : a;
}

function vecStatsCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { m_field, s_state, visits, v_part, v_cnt } = launch.arrays;
  for (let g = 0, start = 0; start < p.n; g++, start += p.chunk) {
    const end = Math.min(start + p.chunk, p.n);
    let mSum = 0, mMax = -Infinity, sSum = 0, vSum = 0, xlogx = 0, active = 0;
    for (let e = start; e < end; e++) {
      const m = m_field[e];
      mSum += m;
      mMax = maxKeepNaN(mMax, m);
      if (m > THRESHOLD_F32) active++;
      sSum += s_state[e];
      const v = f32(visits[e]);
      vSum += v;
      if (v > 0) xlogx += v * Math.log(v);
    }
    const at = g * LANES;
    v_part[at] = mSum;
    v_part[at + 1] = mMax;
    v_part[at + 2] = sSum;
    v_part[at + 3] = vSum;
    v_part[at + 4] = xlogx;
    v_cnt[g] = active;
  }
}

const ratioOrNaN = (num: number, den: number) => (den === 0 ? NaN : num / den);

function combineCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { w_part, w_pos, v_part, v_cnt, motion, metrics } = launch.arrays;
  let acc = [0, 0, 0];
  let total = 0, diag = 0, positive = 0;
  for (let k = 0; k < p.w_parts; k++) {
    const at = k * W_LANES;
    acc = chan(acc, [w_part[at], w_part[at + 1], w_part[at + 2]]);
    total += w_part[at + 3];
    diag += w_part[at + 4];
    positive += w_pos[k];
  }
  let mSum = 0, mMax = -Infinity, sSum = 0, vSum = 0, xlogx = 0, active = 0;
  for (let k = 0; k < p.v_parts; k++) {
    const at = k * LANES;
    mSum += v_part[at];
    mMax = maxKeepNaN(mMax, v_part[at + 1]);
    sSum += v_part[at + 2];
    vSum += v_part[at + 3];
    xlogx += v_part[at + 4];
    active += v_cnt[k];
  }
  const scale = f32(p.w_scale);
  metrics[0] = p.w_count === 0 ? NaN : acc[1] * scale;
  metrics[1] = Math.sqrt(ratioOrNaN(acc[2], p.w_count)) * scale;
  metrics[2] = ratioOrNaN(positive, p.w_count);
  metrics[3] = ratioOrNaN(mSum, p.n);
  metrics[4] = p.n === 0 ? NaN : mMax;
  metrics[5] = ratioOrNaN(active, p.n);
  metrics[6] = ratioOrNaN(sSum, p.n);
  metrics[7] = vSum > 0 ? Math.max(Math.log(vSum) - xlogx / vSum, 0) : 0;
  metrics[8] = total !== total || diag !== diag ? NaN : total > 0 ? diag / total : 0;
  metrics[9] = p.has_motion !== 0 ? motion[0] : NaN;
}

const shader = SHADERS.sparknet_metrics;

function spec(entryPoint: string, cpu: KernelSpec['cpu']): KernelSpec {
  return { name: `sparknet_metrics.${entryPoint}`, shader, entryPoint, cpu };
}

export const wDenseStatsKernel = spec('w_dense_stats', denseStatsCpu);
export const wCsrStatsKernel = spec('w_csr_stats', csrStatsCpu);
export const vecStatsKernel = spec('vec_stats', vecStatsCpu);
export const metricsCombineKernel = spec('combine', combineCpu);

// ---------------------------------------------------------------------------------------------

/** SparkNet's state as the metrics read it (all N = m.size neurons). */
export interface SparkMetricsInput {
  weights: SparkWeights;
  /** Memory field M, f32 [N]. */
  m: Tensor;
  /** Activations s, f32 [N]. */
  s: Tensor;
  /** Cumulative visit counts, u32 [N]. */
  visits: Tensor;
  /** The layout's learning temperature (f32, one element), reported as layoutMotion; NaN without it. */
  motion?: Tensor;
}

const floorPow2 = (v: number) => 2 ** Math.floor(Math.log2(v));

function vectorInputs(input: SparkMetricsInput): { m: Tensor; s: Tensor; visits: Tensor; n: number } {
  if (typeof input !== 'object' || input === null) throw new ParameterError('sparknetMetrics input', input, '{ weights, m, s, visits, motion? }');
  const m = requireLive('M', input.m);
  if (m.rank !== 1) throw new ShapeError(`M: expected [N] f32, got ${m.describe()}`);
  requireDType('M', m, 'f32');
  const n = m.size;
  engineExpect(requireLive('s', input.s), 's', [n], 'f32');
  engineExpect(requireLive('visits', input.visits), 'visits', [n], 'u32');
  if (input.motion !== undefined) {
    const motion = requireLive('motion', input.motion);
    requireDType('motion', motion, 'f32');
    if (motion.size !== 1) throw new ShapeError(`motion: expected one f32 element, got ${motion.describe()}`);
  }
  return { m, s: input.s, visits: input.visits, n };
}

/**
 * SparkNet's run metrics as one f32 [10] tensor in SPARK_METRICS order (read it every k steps):
 * wMean, wStd (population), wPositive (fraction of entries > 0: all N² for dense, the nnz stored
 * edges for CSR), each of true weights wScale·w; mMean, mMax, mActive (fraction of M > 1e-6); sMean;
 * visitEntropy (nats, of visits / sum(visits); 0 when there are none); diagonalMass (sum over
 * |i - j| <= 1 of |W_ij| / sum of |W_ij|, dense over all entries, CSR over stored edges; 0 when W is
 * all zero); layoutMotion (input.motion, else NaN).
 * Empty sets: W statistics of no entries (N = 0 or nnz = 0) and M/s statistics of N = 0 are NaN.
 * NaN in W, M or s propagates to the statistics that sum or take the max of them (a NaN is neither
 * positive nor active). Fixed-order reductions: bit-identical run to run on a backend.
 */
export function sparknetMetrics(engine: Engine, input: SparkMetricsInput, out?: Tensor): Tensor {
  const { m, s, visits, n } = vectorInputs(input);
  const weights = resolveWeights(n, input.weights);
  if (out === m || out === s) throw new ShapeError('sparknetMetrics: out must not be an input');
  const result = outputTensor(engine, 'sparknetMetrics', [SPARK_METRICS.length], 'f32', out);
  const wg = floorPow2(workgroupSize(engine));
  const maxDim = engine.limits.maxComputeWorkgroupsPerDimension;
  const chunk = wg * WORK_ITEMS_PER_INVOCATION;
  const base: MetricParams = {
    n, count: 0, row0: 0, chunk, part_offset: 0, w_parts: 0, v_parts: 0, w_count: 0, w_scale: weights.wScale, has_motion: input.motion ? 1 : 0,
  };

  const wParts = weights.kind === 'dense'
    ? weights.blocks.reduce((acc, b) => acc + Math.ceil((b.rows * n) / chunk), 0)
    : Math.ceil(n / wg);
  const vParts = Math.ceil(n / chunk);
  const wPart = engine.empty([Math.max(wParts, 1) * W_LANES], 'f32', 'sparknetMetrics.w_part');
  const wPos = engine.empty([Math.max(wParts, 1)], 'u32', 'sparknetMetrics.w_pos');
  const vPart = engine.empty([Math.max(vParts, 1) * LANES], 'f32', 'sparknetMetrics.v_part');
  const vCnt = engine.empty([Math.max(vParts, 1)], 'u32', 'sparknetMetrics.v_cnt');

  if (weights.kind === 'dense') {
    let offset = 0;
    for (const b of weights.blocks) {
      const count = b.rows * n;
      const groups = Math.ceil(count / chunk);
      engine.run({
        kernel: wDenseStatsKernel,
        bindings: { wvals: b.w, w_part: wPart, w_pos: wPos },
        uniforms: { mp: { ...base, count, row0: b.row0, part_offset: offset } },
        overrides: { WG: wg },
        workgroups: grid1d(groups * wg, wg, maxDim),
      });
      offset += groups;
    }
  } else {
    engine.run({
      kernel: wCsrStatsKernel,
      bindings: { wvals: weights.w, row_ptr: weights.rowPtr, col_idx: weights.colIdx, w_part: wPart, w_pos: wPos },
      uniforms: { mp: base },
      overrides: { WG: wg },
      workgroups: grid1d(wParts * wg, wg, maxDim),
    });
  }
  engine.run({
    kernel: vecStatsKernel,
    bindings: { m_field: m, s_state: s, visits, v_part: vPart, v_cnt: vCnt },
    uniforms: { mp: base },
    overrides: { WG: wg },
    workgroups: grid1d(vParts * wg, wg, maxDim),
  });
  const motion = input.motion ?? engine.zeros([1], 'f32', 'sparknetMetrics.no_motion');
  const wCount = weights.kind === 'dense' ? n * n : weights.nnz;
  engine.run({
    kernel: metricsCombineKernel,
    bindings: { w_part: wPart, w_pos: wPos, v_part: vPart, v_cnt: vCnt, motion, metrics: result },
    uniforms: { mp: { ...base, w_parts: wParts, v_parts: vParts, w_count: wCount } },
    overrides: { WG: wg },
    workgroups: [1, 1, 1],
  });
  for (const t of [wPart, wPos, vPart, vCnt]) t.dispose();
  if (motion !== input.motion) motion.dispose();
  return result;
}

/** The metrics as a record, from the values of sparknetMetrics' output. */
export function metricsRecord(values: ArrayLike<number>): SparkMetrics {
  if (values.length !== SPARK_METRICS.length) throw new ShapeError(`metricsRecord: expected ${SPARK_METRICS.length} values, got ${values.length}`);
  return Object.fromEntries(SPARK_METRICS.map((name, k) => [name, values[k]])) as SparkMetrics;
}

/** Reads sparknetMetrics' output back as a record. */
export async function readSparknetMetrics(engine: Engine, metrics: Tensor): Promise<SparkMetrics> {
  return metricsRecord(await engine.read(metrics));
}
