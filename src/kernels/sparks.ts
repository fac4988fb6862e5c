import type { AnyTypedArray } from '../engine/dtype.js';
import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { gumbel, philox4x32, seedKey, uniform01 } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, requireDType, workgroupSize } from './common.js';
import { max as reduceMax } from './reduce.js';
import { cumsum } from './scan.js';

/** SparkNet's Philox streams for spark stepping (SPARKNET.md): counter (index, block, step, stream). */
export const EXPLORE_STREAM = 2;
export const MOVE_STREAM = 3;
export const RESPAWN_STREAM = 4;

const LOGIT_EPS = f32(1e-6);
const NONE = 0xffffffff;

/** Parameters of step 4 (SCIENCE.md §1 names). */
export interface SparkStepParams {
  /** Run seed: an integer in [0, 2^53). */
  seed: number;
  /** Step number: an integer in [0, 2^32). */
  step: number;
  /** Host-side multiplier of the stored weights (true W = wScale · w): > 0, with 1/wScale finite in f32. */
  wScale: number;
  /** lr_edge, in [0, 1]. */
  lrEdge: number;
  /** mem_bias: finite. */
  memBias: number;
  /** explore, in [0, 1]. */
  explore: number;
  /** T (divides the weight term of the logits only): > 0, with 1/T finite in f32. */
  temperature: number;
  /** mem_deposit: finite, >= 0. */
  memDeposit: number;
  /** energy_decay, in [0, 1]. */
  energyDecay: number;
  /** min_energy: finite. */
  minEnergy: number;
  /** Respawn draws from softmax(respawnGain · M): finite, >= 0. */
  respawnGain: number;
}

/** SCIENCE.md §1 defaults of the step-4 parameters (seed, step and wScale are the caller's). */
export const SPARK_STEP_DEFAULTS = {
  lrEdge: 0.05,
  memBias: 0.8,
  explore: 0.05,
  temperature: 0.3,
  memDeposit: 0.15,
  energyDecay: 0.98,
  minEnergy: 0.05,
  respawnGain: 2.0,
} as const satisfies Partial<SparkStepParams>;

/** Dense weights: f32 [N*N] or [N, N], w[i*N + j] = stored weight from j to i. */
export interface DenseSparkWeights {
  kind: 'dense';
  w: Tensor;
}

/** CSR weights over a symmetric neighbour structure, columns sorted within each row. */
export interface SparseSparkWeights {
  kind: 'sparse';
  /** u32 [N+1]. */
  rowPtr: Tensor;
  /** u32 [nnz], sorted within each row. */
  colIdx: Tensor;
  /** f32 [nnz]: w[e] = stored weight of edge e = (row i, column j), from j to i. */
  w: Tensor;
  /** u32 [nnz]: the index of edge (j, i), the transposed entry. */
  twin: Tensor;
}

export type SparkWeights = DenseSparkWeights | SparseSparkWeights;

/** The state step 4 reads and writes. */
export interface SparkState {
  /** f32 [N] activations. */
  s: Tensor;
  /** f32 [N] memory field (>= 0). */
  m: Tensor;
  /** u32 [K] positions, each in [0, N). */
  pos: Tensor;
  /** f32 [K] energies (>= 0). */
  energy: Tensor;
  /** u32 [K] ages. */
  age: Tensor;
  /** u32 [N] cumulative visit counts. */
  visits: Tensor;
  /** u32 [1] cumulative respawn count. */
  respawns: Tensor;
}

/**
 * Parallel mode's per-step scratch, all zeros between steps (the kernels leave them so): arrivals and
 * arrivalEnergy u32 [N], edgeTable u32 [2·crossingTableSize(K)] (keys, then counts).
 */
export interface SparkScratch {
  arrivals: Tensor;
  arrivalEnergy: Tensor;
  edgeTable: Tensor;
}

/** Slots of the crossing hash table: the smallest power of two >= 2K. */
export function crossingTableSize(sparks: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2 * sparks, 2)));
}

export function createSparkScratch(engine: Engine, n: number, sparks: number): SparkScratch {
  return {
    arrivals: engine.zeros([n], 'u32', 'sparks.arrivals'),
    arrivalEnergy: engine.zeros([n], 'u32', 'sparks.arrival_energy'),
    edgeTable: engine.zeros([2 * crossingTableSize(sparks)], 'u32', 'sparks.edge_table'),
  };
}

// ---- CPU twins ---------------------------------------------------------------------------------

interface Params {
  n: number;
  sparks: number;
  step: number;
  seedLo: number;
  seedHi: number;
  tableSize: number;
  wScale: number;
  invWScale: number;
  lr: number;
  invTemp: number;
  memBias: number;
  explore: number;
  memDeposit: number;
  energyDecay: number;
  minEnergy: number;
  gain: number;
}

function params(launch: CpuLaunch): Params {
  const u = launch.uniforms.spark_params as Record<string, number>;
  return {
    n: u.n, sparks: u.sparks, step: u.step, seedLo: u.seed_lo, seedHi: u.seed_hi, tableSize: u.table_size,
    wScale: f32(u.w_scale), invWScale: f32(u.inv_w_scale), lr: f32(u.lr), invTemp: f32(u.inv_temp),
    memBias: f32(u.mem_bias), explore: f32(u.explore), memDeposit: f32(u.mem_deposit),
    energyDecay: f32(u.energy_decay), minEnergy: f32(u.min_energy), gain: f32(u.gain),
  };
}

const words = new Uint32Array(4);

function draw(p: Params, index: number, block: number, stream: number): Uint32Array {
  return philox4x32(index, block, p.step, stream, p.seedLo, p.seedHi, words);
}

function uniformTarget(p: Params, u: number): number {
  return Math.min(Math.floor(f32(u * p.n)), p.n - 1);
}

/** As explore_target() in WGSL: the jump target of spark k, or NONE. */
function exploreTarget(p: Params, k: number): number {
  const bits = draw(p, k, 0, EXPLORE_STREAM);
  const jump = uniform01(bits[1]);
  return uniform01(bits[0]) < p.explore ? uniformTarget(p, jump) : NONE;
}

function candidateScore(p: Params, mem: AnyTypedArray, k: number, j: number, stored: number): number {
  const h = f32(p.wScale * stored);
  const logit = f32(f32(f32((h < 0 ? 0 : h) + LOGIT_EPS) * p.invTemp) + f32(p.memBias * mem[j]));
  const score = f32(logit + gumbel(draw(p, j, k, MOVE_STREAM)[0]));
  return Number.isNaN(score) ? -Infinity : score;
}

/** The best candidate position (ties to the smallest), as the workgroup reduction finds it. */
function bestDense(p: Params, a: Record<string, AnyTypedArray>, k: number, prev: number): number {
  const { weights, mem } = a;
  let best = -Infinity, index = NONE;
  for (let j = 0, row = prev * p.n; j < p.n; j++) {
    const score = candidateScore(p, mem, k, j, weights[row + j]);
    if (score > best || (score === best && j < index)) { best = score; index = j; }
  }
  return index;
}

function bestSparse(p: Params, a: Record<string, AnyTypedArray>, k: number, prev: number): number {
  const { weights, mem, row_ptr, col_idx } = a;
  let best = -Infinity, index = NONE;
  for (let e = row_ptr[prev], end = row_ptr[prev + 1]; e < end; e++) {
    const score = candidateScore(p, mem, k, col_idx[e], weights[e]);
    if (score > best || (score === best && e < index)) { best = score; index = e; }
  }
  return index;
}

function findEdge(a: Record<string, AnyTypedArray>, row: number, col: number): number {
  const { row_ptr, col_idx } = a;
  let lo = row_ptr[row], hi = row_ptr[row + 1];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (col_idx[mid] < col) lo = mid + 1;
    else hi = mid;
  }
  return lo < row_ptr[row + 1] && col_idx[lo] === col ? lo : NONE;
}

/** A move: where spark k goes, and the weight entry (transposed edge) it learns, or NONE. */
interface Move {
  next: number;
  learns: number;
}

function moveDense(p: Params, a: Record<string, AnyTypedArray>, k: number): Move {
  const prev = a.spark_pos[k];
  const jump = exploreTarget(p, k);
  const next = jump !== NONE ? jump : bestDense(p, a, k, prev);
  return { next, learns: next * p.n + prev };
}

function moveSparse(p: Params, a: Record<string, AnyTypedArray>, k: number): Move {
  const prev = a.spark_pos[k];
  const jump = exploreTarget(p, k);
  let next = prev, edge = NONE;
  if (jump !== NONE) {
    next = jump;
    edge = findEdge(a, prev, jump);
  } else {
    edge = bestSparse(p, a, k, prev);
    if (edge !== NONE) next = a.col_idx[edge];
  }
  return { next, learns: edge === NONE ? NONE : a.twin[edge] };
}

/** As learn_edge() in WGSL: `crossings` EMA steps toward s[prev] in closed form. */
function learnEdge(p: Params, a: Record<string, AnyTypedArray>, idx: number, prev: number, crossings: number): void {
  let decay = 1, base = f32(1 - p.lr);
  for (let e = crossings; e > 0; e >>>= 1) {
    if (e & 1) decay = f32(decay * base);
    base = f32(base * base);
  }
  const gain = crossings === 1 ? p.lr : f32(1 - decay);
  const { weights, act } = a;
  weights[idx] = f32(f32(f32(decay * f32(p.wScale * weights[idx])) + f32(gain * act[prev])) * p.invWScale);
}

function advanceSpark(p: Params, a: Record<string, AnyTypedArray>, k: number, next: number): number {
  a.spark_pos[k] = next;
  const energy = f32(p.energyDecay * a.spark_energy[k]);
  a.spark_energy[k] = energy;
  a.spark_age[k] += 1;
  return energy;
}

function respawnSpark(a: Record<string, AnyTypedArray>, k: number, target: number): void {
  a.spark_pos[k] = target;
  a.spark_energy[k] = 1;
  a.spark_age[k] = 0;
  a.respawns[0] += 1;
}

function respawnExp(x: number): number {
  return x === 0 ? 1 : f32(Math.exp(x));
}

function respawnWeight(p: Params, mem: AnyTypedArray, j: number, top: number): number {
  return respawnExp(f32(p.gain * f32(mem[j] - top)));
}

/** As pick_in_chunk() in WGSL. */
function pickInChunk(p: Params, mem: AnyTypedArray, c: number, chunk: number, top: number, before: number, target: number): number {
  let run = before, last = NONE;
  for (let j = c * chunk, end = Math.min((c + 1) * chunk, p.n); j < end; j++) {
    const q = respawnWeight(p, mem, j, top);
    if (q > 0) last = j;
    run = f32(run + q);
    if (run > target) return j;
  }
  return last;
}

/** As sequential_respawn() in WGSL with `wg` invocations: chunk sums, then a walk in index order. */
function sequentialRespawn(p: Params, a: Record<string, AnyTypedArray>, k: number, wg: number): void {
  const mem = a.mem;
  const chunk = Math.ceil(p.n / wg);
  let top = -Infinity;
  for (let j = 0; j < p.n; j++) if (mem[j] > top) top = mem[j];
  const sums = new Float32Array(wg);
  for (let t = 0; t < wg; t++) {
    let part = 0;
    for (let j = Math.min(t * chunk, p.n), end = Math.min(j + chunk, p.n); j < end; j++) part = f32(part + respawnWeight(p, mem, j, top));
    sums[t] = part;
  }
  let total = 0;
  for (let t = 0; t < wg; t++) total = f32(total + sums[t]);
  const u = uniform01(draw(p, k, 0, RESPAWN_STREAM)[0]);
  const target = f32(u * total);
  let before = 0, picked = NONE, lastPositive = NONE;
  for (let t = 0; t < wg; t++) {
    const after = f32(before + sums[t]);
    if (after > target) {
      picked = pickInChunk(p, mem, t, chunk, top, before, target);
      break;
    }
    if (sums[t] > 0) lastPositive = t;
    before = after;
  }
  if (picked === NONE && lastPositive !== NONE) picked = pickInChunk(p, mem, lastPositive, chunk, top, 0, Infinity);
  if (picked === NONE) picked = uniformTarget(p, u);
  respawnSpark(a, k, picked);
}

function cpuSequential(launch: CpuLaunch, move: (p: Params, a: Record<string, AnyTypedArray>, k: number) => Move): void {
  const p = params(launch);
  const a = launch.arrays;
  const { mem, act, visits } = a;
  for (let k = 0; k < p.sparks; k++) {
    const prev = a.spark_pos[k];
    const { next, learns } = move(p, a, k);
    if (learns !== NONE) learnEdge(p, a, learns, prev, 1);
    mem[next] = f32(mem[next] + p.memDeposit);
    const energy = advanceSpark(p, a, k, next);
    act[next] = energy;
    visits[next] += 1;
    if (energy < p.minEnergy) sequentialRespawn(p, a, k, launch.overrides.WG);
  }
}

function slotOf(key: number, tableSize: number): number {
  let h = Math.imul(key, 0x9e3779b1) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h & (tableSize - 1);
}

function countCrossing(table: AnyTypedArray, tableSize: number, idx: number): void {
  const key = (idx + 1) >>> 0;
  let slot = slotOf(key, tableSize);
  while (table[slot] !== 0 && table[slot] !== key) slot = (slot + 1) & (tableSize - 1);
  table[slot] = key;
  table[tableSize + slot] += 1;
}

const energyBits = new Uint32Array(1);
const energyValue = new Float32Array(energyBits.buffer);

function cpuParallelMove(launch: CpuLaunch, move: (p: Params, a: Record<string, AnyTypedArray>, k: number) => Move): void {
  const p = params(launch);
  const a = launch.arrays;
  const { arrivals, arrival_energy, edge_table } = a;
  // Moves only read W and M and write spark k's own state: index order gives the parallel result.
  for (let k = 0; k < p.sparks; k++) {
    const { next, learns } = move(p, a, k);
    energyValue[0] = advanceSpark(p, a, k, next);
    arrivals[next] += 1;
    if (energyBits[0] > arrival_energy[next]) arrival_energy[next] = energyBits[0];
    if (learns !== NONE) countCrossing(edge_table, p.tableSize, learns);
  }
}

function cpuParallelLearn(launch: CpuLaunch, prevOf: (a: Record<string, AnyTypedArray>, idx: number, n: number) => number): void {
  const p = params(launch);
  const a = launch.arrays;
  const table = a.edge_table;
  for (let t = 0; t < p.tableSize; t++) {
    const key = table[t];
    if (key === 0) continue;
    const count = table[p.tableSize + t];
    table[t] = 0;
    table[p.tableSize + t] = 0;
    learnEdge(p, a, key - 1, prevOf(a, key - 1, p.n), count);
  }
}

const shader = SHADERS.sparks;

export const sequentialDenseKernel: KernelSpec = {
  name: 'sparks.sequential_dense',
  shader,
  entryPoint: 'sequential_dense',
  cpu: (launch) => cpuSequential(launch, moveDense),
};

export const sequentialSparseKernel: KernelSpec = {
  name: 'sparks.sequential_sparse',
  shader,
  entryPoint: 'sequential_sparse',
  cpu: (launch) => cpuSequential(launch, moveSparse),
};

export const parallelMoveDenseKernel: KernelSpec = {
  name: 'sparks.parallel_move_dense',
  shader,
  entryPoint: 'parallel_move_dense',
  cpu: (launch) => cpuParallelMove(launch, moveDense),
};

export const parallelMoveSparseKernel: KernelSpec = {
  name: 'sparks.parallel_move_sparse',
  shader,
  entryPoint: 'parallel_move_sparse',
  cpu: (launch) => cpuParallelMove(launch, moveSparse),
};

export const parallelLearnDenseKernel: KernelSpec = {
  name: 'sparks.parallel_learn_dense',
  shader,
  entryPoint: 'parallel_learn_dense',
  cpu: (launch) => cpuParallelLearn(launch, (_a, idx, n) => idx % n),
};

export const parallelLearnSparseKernel: KernelSpec = {
  name: 'sparks.parallel_learn_sparse',
  shader,
  entryPoint: 'parallel_learn_sparse',
  cpu: (launch) => cpuParallelLearn(launch, (a, idx) => a.col_idx[idx]),
};

export const parallelArriveKernel: KernelSpec = {
  name: 'sparks.parallel_arrive',
  shader,
  entryPoint: 'parallel_arrive',
  cpu(launch) {
    const p = params(launch);
    const { arrivals, arrival_energy, mem, act, visits } = launch.arrays;
    for (let i = 0; i < p.n; i++) {
      const count = arrivals[i];
      if (count === 0) continue;
      mem[i] = f32(mem[i] + f32(count * p.memDeposit));
      energyBits[0] = arrival_energy[i];
      act[i] = energyValue[0];
      visits[i] += count;
      arrivals[i] = 0;
      arrival_energy[i] = 0;
    }
  },
};

export const respawnWeightsKernel: KernelSpec = {
  name: 'sparks.respawn_weights',
  shader,
  entryPoint: 'respawn_weights',
  cpu(launch) {
    const { n, gain } = launch.uniforms.weight_params as Record<string, number>;
    const { mem, mem_max, respawn_q } = launch.arrays;
    const g = f32(gain), top = mem_max[0];
    for (let i = 0; i < n; i++) respawn_q[i] = respawnExp(f32(g * f32(mem[i] - top)));
  },
};

/** As cdf_search() in WGSL: the first index whose cdf exceeds target (or reaches it, when not strict). */
function cdfSearch(cdf: AnyTypedArray, n: number, target: number, strict: boolean): number {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = cdf[mid];
    if (c > target || (!strict && c === target)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export const parallelRespawnKernel: KernelSpec = {
  name: 'sparks.parallel_respawn',
  shader,
  entryPoint: 'parallel_respawn',
  cpu(launch) {
    const p = params(launch);
    const a = launch.arrays;
    const cdf = a.respawn_cdf;
    for (let k = 0; k < p.sparks; k++) {
      if (!(a.spark_energy[k] < p.minEnergy)) continue;
      const u = uniform01(draw(p, k, 0, RESPAWN_STREAM)[0]);
      const total = cdf[p.n - 1];
      let target = cdfSearch(cdf, p.n, f32(u * total), true);
      if (target >= p.n) target = cdfSearch(cdf, p.n, total, false);
      respawnSpark(a, k, Math.min(target, p.n - 1));
    }
  },
};

// ---- validation --------------------------------------------------------------------------------

function inRange(name: string, v: number, lo: number, hi: number): void {
  if (!(v >= lo && v <= hi)) throw new ParameterError(name, v, `a number in [${lo}, ${hi}]`);
}

function finite(name: string, v: number, min = -Infinity): void {
  if (!Number.isFinite(v) || !(v >= min)) throw new ParameterError(name, v, min === -Infinity ? 'a finite number' : `a finite number >= ${min}`);
}

/** Positive, with a finite f32 reciprocal. */
function invertible(name: string, v: number): number {
  const inv = f32(1 / f32(v));
  if (!Number.isFinite(v) || !(f32(v) > 0) || !Number.isFinite(inv)) throw new ParameterError(name, v, 'a finite number > 0 whose f32 reciprocal is finite');
  return inv;
}

function checkParams(p: SparkStepParams): { seed_lo: number; seed_hi: number; inv_w_scale: number; inv_temp: number } {
  const [seed_lo, seed_hi] = seedKey(p.seed);
  if (!Number.isInteger(p.step) || p.step < 0 || p.step > 0xffffffff) throw new ParameterError('step', p.step, 'an integer in [0, 2^32)');
  const inv_w_scale = invertible('wScale', p.wScale);
  const inv_temp = invertible('temperature', p.temperature);
  inRange('lrEdge', p.lrEdge, 0, 1);
  finite('memBias', p.memBias);
  inRange('explore', p.explore, 0, 1);
  finite('memDeposit', p.memDeposit, 0);
  inRange('energyDecay', p.energyDecay, 0, 1);
  finite('minEnergy', p.minEnergy);
  finite('respawnGain', p.respawnGain, 0);
  return { seed_lo, seed_hi, inv_w_scale, inv_temp };
}

function checkVector(engine: Engine, what: string, t: Tensor, size: number, dtype: 'f32' | 'u32'): void {
  engine.expect(t, what);
  requireDType(what, t, dtype);
  if (t.size !== size) throw new ShapeError(`${what}: expected ${size} elements, got ${t.describe()}`);
}

/** N and K of a state, checked with its weights. */
function checkState(engine: Engine, weights: SparkWeights, state: SparkState): { n: number; k: number } {
  engine.expect(state.s, 'sparks s');
  const n = state.s.size;
  const k = state.pos.size;
  if (n < 1) throw new ShapeError(`sparks: need at least one neuron, got s ${state.s.describe()}`);
  if (k < 1) throw new ParameterError('sparks K (pos.size)', k, 'at least 1 spark');
  if (k > n) throw new ParameterError('sparks K (pos.size)', k, `at most N = ${n} sparks`);
  checkVector(engine, 'sparks s', state.s, n, 'f32');
  checkVector(engine, 'sparks m', state.m, n, 'f32');
  checkVector(engine, 'sparks pos', state.pos, k, 'u32');
  checkVector(engine, 'sparks energy', state.energy, k, 'f32');
  checkVector(engine, 'sparks age', state.age, k, 'u32');
  checkVector(engine, 'sparks visits', state.visits, n, 'u32');
  checkVector(engine, 'sparks respawns', state.respawns, 1, 'u32');
  if (weights.kind === 'dense') {
    if (n * n > 0xfffffffe) throw new ShapeError(`sparks: dense N = ${n} is too large (N² must be < 2^32)`);
    checkVector(engine, 'sparks dense w', weights.w, n * n, 'f32');
  } else if (weights.kind === 'sparse') {
    checkVector(engine, 'sparks rowPtr', weights.rowPtr, n + 1, 'u32');
    const nnz = weights.colIdx.size;
    checkVector(engine, 'sparks colIdx', weights.colIdx, nnz, 'u32');
    checkVector(engine, 'sparks sparse w', weights.w, nnz, 'f32');
    checkVector(engine, 'sparks twin', weights.twin, nnz, 'u32');
  } else {
    throw new ParameterError('sparks weights.kind', (weights as { kind: unknown }).kind, "'dense' | 'sparse'");
  }
  return { n, k };
}

function checkScratch(engine: Engine, scratch: SparkScratch, n: number, k: number): void {
  checkVector(engine, 'sparks arrivals', scratch.arrivals, n, 'u32');
  checkVector(engine, 'sparks arrivalEnergy', scratch.arrivalEnergy, n, 'u32');
  checkVector(engine, 'sparks edgeTable', scratch.edgeTable, 2 * crossingTableSize(k), 'u32');
}

// ---- launches ----------------------------------------------------------------------------------

/** A power of two in [32, device maximum], no larger than N needs: one invocation per row entry or chunk. */
function cooperativeWorkgroupSize(engine: Engine, n: number): number {
  const cap = 2 ** Math.floor(Math.log2(workgroupSize(engine, 256)));
  return Math.min(cap, Math.max(32, 2 ** Math.ceil(Math.log2(n))));
}

function sparkUniform(p: SparkStepParams, n: number, k: number) {
  const checked = checkParams(p);
  return {
    n, sparks: k, step: p.step, seed_lo: checked.seed_lo, seed_hi: checked.seed_hi, table_size: crossingTableSize(k),
    w_scale: p.wScale, inv_w_scale: checked.inv_w_scale, lr: p.lrEdge, inv_temp: checked.inv_temp, mem_bias: p.memBias,
    explore: p.explore, mem_deposit: p.memDeposit, energy_decay: p.energyDecay, min_energy: p.minEnergy, gain: p.respawnGain,
  };
}

function weightBindings(weights: SparkWeights): Record<string, Tensor> {
  if (weights.kind === 'dense') return { weights: weights.w };
  return { weights: weights.w, row_ptr: weights.rowPtr, col_idx: weights.colIdx, twin: weights.twin };
}

function sparkBindings(state: SparkState): Record<string, Tensor> {
  return { spark_pos: state.pos, spark_energy: state.energy, spark_age: state.age };
}

/**
 * Step 4, sequential mode (the original): ONE launch of one workgroup that moves the sparks in index
 * order, each seeing the earlier sparks' writes: movement (Gumbel-argmax, or the explore jump), the
 * Hebbian update of W[next][prev], M[next] += memDeposit, E *= energyDecay, s[next] = E, age += 1,
 * visits[next] += 1, and when E < minEnergy a respawn from softmax(respawnGain·M) over the current M
 * (E = 1, age = 0, respawns += 1). Rejects bad arguments before any work.
 */
export function sequentialSparkStep(engine: Engine, weights: SparkWeights, state: SparkState, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  const spark_params = sparkUniform(params, n, k);
  engine.run({
    kernel: weights.kind === 'dense' ? sequentialDenseKernel : sequentialSparseKernel,
    bindings: { ...weightBindings(weights), ...sparkBindings(state), act: state.s, mem: state.m, visits: state.visits, respawns: state.respawns },
    uniforms: { spark_params },
    overrides: { WG: cooperativeWorkgroupSize(engine, n) },
    workgroups: [1, 1, 1],
  });
}

/**
 * Parallel mode (a)+(b): every spark chooses from the current state (dense: a workgroup per spark;
 * sparse: an invocation per spark), moves (E *= energyDecay, age += 1), counts its arrival and
 * largest arriving energy, and its crossing in the edge table. Run parallelSparkLearn next.
 */
export function parallelSparkMove(engine: Engine, weights: SparkWeights, state: SparkState, scratch: SparkScratch, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  checkScratch(engine, scratch, n, k);
  const spark_params = sparkUniform(params, n, k);
  const bindings = {
    ...weightBindings(weights), ...sparkBindings(state), mem: state.m,
    arrivals: scratch.arrivals, arrival_energy: scratch.arrivalEnergy, edge_table: scratch.edgeTable,
  };
  const maxDim = engine.limits.maxComputeWorkgroupsPerDimension;
  if (weights.kind === 'dense') {
    engine.run({ kernel: parallelMoveDenseKernel, bindings, uniforms: { spark_params }, overrides: { WG: cooperativeWorkgroupSize(engine, n) }, workgroups: grid1d(k, 1, maxDim) });
  } else {
    const wg = workgroupSize(engine);
    engine.run({ kernel: parallelMoveSparseKernel, bindings, uniforms: { spark_params }, overrides: { WG: wg }, workgroups: grid1d(k, wg, maxDim) });
  }
}

/**
 * Parallel mode (b), second half: each edge crossed c times this step is updated once,
 * W <- (1-lr)^c·W + (1-(1-lr)^c)·s[prev] (exactly the sequential update for c = 1); empties the table.
 */
export function parallelSparkLearn(engine: Engine, weights: SparkWeights, state: SparkState, scratch: SparkScratch, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  checkScratch(engine, scratch, n, k);
  const spark_params = sparkUniform(params, n, k);
  const wg = workgroupSize(engine);
  const bindings: Record<string, Tensor> = { weights: weights.w, act: state.s, edge_table: scratch.edgeTable };
  if (weights.kind === 'sparse') bindings.col_idx = weights.colIdx;
  engine.run({
    kernel: weights.kind === 'dense' ? parallelLearnDenseKernel : parallelLearnSparseKernel,
    bindings,
    uniforms: { spark_params },
    overrides: { WG: wg },
    workgroups: grid1d(spark_params.table_size, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * Parallel mode (c): where sparks arrived, M += arrivals·memDeposit, s = the largest arriving energy,
 * visits += arrivals; clears arrivals and arrivalEnergy.
 */
export function parallelSparkArrive(engine: Engine, weights: SparkWeights, state: SparkState, scratch: SparkScratch, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  checkScratch(engine, scratch, n, k);
  const spark_params = sparkUniform(params, n, k);
  const wg = workgroupSize(engine);
  engine.run({
    kernel: parallelArriveKernel,
    bindings: { arrivals: scratch.arrivals, arrival_energy: scratch.arrivalEnergy, mem: state.m, act: state.s, visits: state.visits },
    uniforms: { spark_params },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
}

/**
 * The inclusive prefix sum (f32 [N]) of q_i = exp(gain·(M_i - max M)), q exactly 1 at the maximum (so
 * all-zero M gives 1, 2, ..., N: the uniform distribution). What parallelSparkRespawn samples.
 */
export function respawnCdf(engine: Engine, m: Tensor, gain: number, out?: Tensor): Tensor {
  engine.expect(m, 'respawnCdf m');
  requireDType('respawnCdf m', m, 'f32');
  finite('respawnGain', gain, 0);
  const n = m.size;
  const top = reduceMax(engine, m, { axis: null });
  const q = engine.empty([n], 'f32', 'sparks.respawn_q');
  const wg = workgroupSize(engine);
  engine.run({
    kernel: respawnWeightsKernel,
    bindings: { mem: m, mem_max: top, respawn_q: q },
    uniforms: { weight_params: { n, gain } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  const cdf = cumsum(engine, q, {}, out);
  q.dispose();
  top.dispose();
  return cdf;
}

/**
 * Parallel mode (d): every spark with E < minEnergy moves to the smallest j with cdf[j] > u·cdf[N-1]
 * (u: Philox (k, 0, step, RESPAWN)), E = 1, age = 0, respawns += 1. `cdf` is respawnCdf(M) after all
 * deposits (any non-decreasing f32 [N] prefix sum of positive weights works).
 */
export function parallelSparkRespawn(engine: Engine, weights: SparkWeights, state: SparkState, cdf: Tensor, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  checkVector(engine, 'sparks respawn cdf', cdf, n, 'f32');
  const spark_params = sparkUniform(params, n, k);
  const wg = workgroupSize(engine);
  engine.run({
    kernel: parallelRespawnKernel,
    bindings: { ...sparkBindings(state), respawns: state.respawns, respawn_cdf: cdf },
    uniforms: { spark_params },
    overrides: { WG: wg },
    workgroups: grid1d(k, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
}

/** Step 4 in parallel mode: move, learn, arrive, respawnCdf, respawn (the launch order the model may also run itself). */
export function parallelSparkStep(engine: Engine, weights: SparkWeights, state: SparkState, scratch: SparkScratch, params: SparkStepParams): void {
  const { n, k } = checkState(engine, weights, state);
  checkScratch(engine, scratch, n, k);
  checkParams(params);
  parallelSparkMove(engine, weights, state, scratch, params);
  parallelSparkLearn(engine, weights, state, scratch, params);
  parallelSparkArrive(engine, weights, state, scratch, params);
  const cdf = respawnCdf(engine, state.m, params.respawnGain);
  parallelSparkRespawn(engine, weights, state, cdf, params);
  cdf.dispose();
}
