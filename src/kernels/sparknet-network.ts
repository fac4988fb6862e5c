import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normalCos, philox4x32, seedKey } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, requireDType, workgroupSize } from './common.js';

/** SparkNet's Philox streams (SPARKNET.md): counter (index, block, step, stream). */
export const NOISE_STREAM = 1;

/** Parameters of one network update, SCIENCE.md §1 steps 1-2. */
export interface NetworkUpdateOptions {
  /** Host-side multiplier of the stored weights (true W = wScale · w); finite, >= 0. */
  wScale: number;
  /** Decay of s before the product, in [0, 1]. */
  stateDecay: number;
  /** Standard deviation of the Gaussian input noise; finite, >= 0 (0: no noise is drawn). */
  noiseStd: number;
  /** Run seed: an integer in [0, 2^53). */
  seed: number;
  /** Step number: an integer in [0, 2^32). */
  step: number;
}

export interface DenseNetworkTensors {
  /** f32 [N*N] or [N, N], row-major: w[i*N + j] = stored weight from j to i. */
  w: Tensor;
  /** f32 [N] activations, read only. */
  s: Tensor;
  /** f32 [N] output (distinct from s); allocated when absent. */
  sNext?: Tensor;
}

export interface SparseNetworkTensors {
  /** u32 [N+1] CSR row offsets (non-decreasing, rowPtr[N] = nnz). */
  rowPtr: Tensor;
  /** u32 [nnz] column of each edge. */
  colIdx: Tensor;
  /** f32 [nnz] stored weight of each edge (row i, column j): from j to i. */
  w: Tensor;
  s: Tensor;
  sNext?: Tensor;
}

interface NetworkParams {
  n: number;
  nnz: number;
  scale: number;
  noise_std: number;
  seed_lo: number;
  seed_hi: number;
  step: number;
}

function params(launch: CpuLaunch): NetworkParams {
  return launch.uniforms.np as unknown as NetworkParams;
}

/** xi_i of the update: the normal of Philox counter (i, 0, step, NOISE_STREAM), as noise_of() in WGSL. */
export function networkNoiseValue(i: number, seed: number, step: number): number {
  const [lo, hi] = seedKey(seed);
  return noiseOf(i, step, lo, hi, new Uint32Array(4));
}

function noiseOf(i: number, step: number, seedLo: number, seedHi: number, words: Uint32Array<ArrayBuffer>): number {
  philox4x32(i, 0, step, NOISE_STREAM, seedLo, seedHi, words);
  return normalCos(words[0], words[1]);
}

/** The f32 activation of neuron i from its weighted input sum, as activation() in WGSL. */
function activationOf(p: NetworkParams, i: number, weighted: number, words: Uint32Array<ArrayBuffer>): number {
  let pre = f32(f32(p.scale) * f32(weighted));
  const std = f32(p.noise_std);
  if (std > 0) pre = f32(pre + f32(std * noiseOf(i, p.step, p.seed_lo, p.seed_hi, words)));
  return f32(1 / f32(1 + f32(Math.exp(-pre))));
}

/** sum_k a[aBase + k]·b[k] for k < len: four f64 chains, so the additions overlap. */
function rowDot(a: ArrayLike<number>, aBase: number, b: ArrayLike<number>, len: number): number {
  let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    a0 += a[aBase + k] * b[k];
    a1 += a[aBase + k + 1] * b[k + 1];
    a2 += a[aBase + k + 2] * b[k + 2];
    a3 += a[aBase + k + 3] * b[k + 3];
  }
  for (; k < len; k++) a0 += a[aBase + k] * b[k];
  return a0 + a1 + (a2 + a3);
}

const shader = SHADERS.sparknet_network;

export const networkDenseKernel: KernelSpec = {
  name: 'sparknet_network.dense',
  shader,
  entryPoint: 'network_dense',
  cpu(launch) {
    const p = params(launch);
    const { w, s, s_next } = launch.arrays;
    const words = new Uint32Array(4);
    for (let i = 0; i < p.n; i++) s_next[i] = activationOf(p, i, rowDot(w, i * p.n, s, p.n), words);
  },
};

export const networkSparseKernel: KernelSpec = {
  name: 'sparknet_network.sparse',
  shader,
  entryPoint: 'network_sparse',
  cpu(launch) {
    const p = params(launch);
    const { w, s, s_next, row_ptr, col_idx } = launch.arrays;
    const words = new Uint32Array(4);
    for (let i = 0; i < p.n; i++) {
      const end = Math.min(row_ptr[i + 1], p.nnz);
      let acc = 0;
      for (let e = row_ptr[i]; e < end; e++) {
        const col = col_idx[e];
        if (col < p.n) acc = f32(acc + f32(w[e] * s[col]));
      }
      s_next[i] = activationOf(p, i, acc, words);
    }
  },
};

export const networkNoiseKernel: KernelSpec = {
  name: 'sparknet_network.noise',
  shader,
  entryPoint: 'network_noise',
  cpu(launch) {
    const p = params(launch);
    const { xi_out } = launch.arrays;
    const words = new Uint32Array(4);
    for (let i = 0; i < p.n; i++) xi_out[i] = noiseOf(i, p.step, p.seed_lo, p.seed_hi, words);
  },
};

function checkFinite(name: string, v: number, lo: number, hi = Infinity): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    throw new ParameterError(name, v, hi === Infinity ? `a finite number >= ${lo}` : `a number in [${lo}, ${hi}]`);
  }
}

export function checkStep(step: number): void {
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new ParameterError('step', step, 'an integer in [0, 2^32)');
}

function checkVector(what: string, t: Tensor, n: number, dtype: 'f32' | 'u32'): void {
  requireDType(what, t, dtype);
  if (t.rank !== 1 || t.size !== n) throw new ShapeError(`${what}: expected shape [${n}] ${dtype}, got ${t.describe()}`);
}

/** Checks a CSR structure's tensors and returns N (rows) and nnz. */
export function checkCsr(what: string, rowPtr: Tensor, colIdx: Tensor, w: Tensor): { n: number; nnz: number } {
  requireDType(`${what} rowPtr`, rowPtr, 'u32');
  requireDType(`${what} colIdx`, colIdx, 'u32');
  if (rowPtr.rank !== 1 || rowPtr.size < 1) throw new ShapeError(`${what} rowPtr: expected shape [N+1] u32, got ${rowPtr.describe()}`);
  if (colIdx.rank !== 1) throw new ShapeError(`${what} colIdx: expected shape [nnz] u32, got ${colIdx.describe()}`);
  checkVector(`${what} w`, w, colIdx.size, 'f32');
  return { n: rowPtr.size - 1, nnz: colIdx.size };
}

/** Checks a dense N x N weight tensor: f32, shape [N*N] or [N, N]. */
export function checkDenseWeights(what: string, w: Tensor, n: number): void {
  requireDType(`${what} w`, w, 'f32');
  const ok = (w.rank === 1 && w.size === n * n) || (w.rank === 2 && w.shape[0] === n && w.shape[1] === n);
  if (!ok) throw new ShapeError(`${what} w: expected shape [${n * n}] or [${n}, ${n}] f32 for N = ${n}, got ${w.describe()}`);
}

export function checkDistinct(what: string, out: Tensor, ...inputs: Tensor[]): void {
  for (const t of inputs) {
    if (out.storage === t.storage) throw new ShapeError(`${what}: the output ${out.describe()} shares memory with the input ${t.describe()}`);
  }
}

function networkParams(n: number, nnz: number, o: NetworkUpdateOptions): NetworkParams {
  checkFinite('wScale', o.wScale, 0);
  checkFinite('stateDecay', o.stateDecay, 0, 1);
  checkFinite('noiseStd', o.noiseStd, 0);
  const [seed_lo, seed_hi] = seedKey(o.seed);
  checkStep(o.step);
  const scale = f32(o.wScale * o.stateDecay);
  if (!Number.isFinite(scale)) throw new ParameterError('wScale · stateDecay', o.wScale * o.stateDecay, 'finite in f32');
  return { n, nnz, scale, noise_std: o.noiseStd, seed_lo, seed_hi, step: o.step };
}

/** The largest power of two <= the engine's workgroup size and <= the next power of two above `len`. */
export function rowWorkgroupSize(engine: Engine, len: number): number {
  const cap = workgroupSize(engine, 256);
  let wg = 1;
  while (wg * 2 <= cap && wg < len) wg *= 2;
  return wg;
}

/**
 * Dense network update: sNext = sigmoid(wScale·stateDecay·(w·s) + noiseStd·xi) (the decay of s is folded
 * into the scale). Returns sNext; s is only read.
 */
export function networkUpdateDense(engine: Engine, tensors: DenseNetworkTensors, options: NetworkUpdateOptions): Tensor {
  const { w, s } = tensors;
  requireDType('networkUpdateDense s', s, 'f32');
  if (s.rank !== 1) throw new ShapeError(`networkUpdateDense s: expected shape [N] f32, got ${s.describe()}`);
  const n = s.size;
  checkDenseWeights('networkUpdateDense', w, n);
  const np = networkParams(n, n * n, options);
  const sNext = outputTensor(engine, 'networkUpdateDense sNext', [n], 'f32', tensors.sNext);
  checkDistinct('networkUpdateDense sNext', sNext, s, w);
  if (n === 0) return sNext;
  const wg = rowWorkgroupSize(engine, n);
  engine.run({
    kernel: networkDenseKernel,
    bindings: { w, s, s_next: sNext },
    uniforms: { np: { ...np } },
    overrides: { WG: wg },
    workgroups: grid1d(n, 1, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return sNext;
}

/** Sparse (CSR) network update, the same math over each row's edges. Returns sNext. */
export function networkUpdateSparse(engine: Engine, tensors: SparseNetworkTensors, options: NetworkUpdateOptions): Tensor {
  const { rowPtr, colIdx, w, s } = tensors;
  const { n, nnz } = checkCsr('networkUpdateSparse', rowPtr, colIdx, w);
  checkVector('networkUpdateSparse s', s, n, 'f32');
  const np = networkParams(n, nnz, options);
  const sNext = outputTensor(engine, 'networkUpdateSparse sNext', [n], 'f32', tensors.sNext);
  checkDistinct('networkUpdateSparse sNext', sNext, s, w);
  if (n === 0) return sNext;
  const wg = workgroupSize(engine);
  engine.run({
    kernel: networkSparseKernel,
    bindings: { row_ptr: rowPtr, col_idx: colIdx, w, s, s_next: sNext },
    uniforms: { np: { ...np } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return sNext;
}

/** The noise xi [n] that the update of (seed, step) draws (before scaling by noiseStd). */
export function networkNoise(engine: Engine, n: number, key: { seed: number; step: number }, out?: Tensor): Tensor {
  if (!Number.isSafeInteger(n) || n < 0) throw new ParameterError('n', n, 'an integer >= 0');
  const np = networkParams(n, 0, { wScale: 1, stateDecay: 1, noiseStd: 1, seed: key.seed, step: key.step });
  const xi = outputTensor(engine, 'networkNoise', [n], 'f32', out);
  const wg = workgroupSize(engine);
  engine.run({
    kernel: networkNoiseKernel,
    bindings: { xi_out: xi },
    uniforms: { np: { ...np } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return xi;
}
