import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, requireDType, workgroupSize } from './common.js';
import { affine } from './elementwise.js';
import { checkCsr, checkDenseWeights, checkDistinct, rowWorkgroupSize } from './sparknet-network.js';

/** Largest stable D of grid diffusion (4 neighbours). */
export const GRID_MAX_D = 0.25;
/** Largest D of weight-graph diffusion: M_next = (1 - D)·M + D·(P·M) is then a convex combination. */
export const GRAPH_MAX_D = 1;

interface GraphParams {
  n: number;
  nnz: number;
  d: number;
}

function graphParams(launch: CpuLaunch): GraphParams {
  return launch.uniforms.graph_params as unknown as GraphParams;
}

/** M_i moved toward the W+-weighted mean of the M_j, as graph_mixed() in WGSL. */
function graphMixed(here: number, total: number, weighted: number, d: number): number {
  if (!(total > 0)) return here;
  return f32(here + f32(d * f32(f32(weighted / total) - here)));
}

const shader = SHADERS.memory_field;

export const memoryDepositKernel: KernelSpec = {
  name: 'memory_field.deposit',
  shader,
  entryPoint: 'memory_deposit',
  cpu({ arrays: { m_inout, arrivals }, uniforms: { deposit_params: p } }) {
    const n = p.n as number, deposit = f32(p.deposit as number);
    for (let i = 0; i < n; i++) {
      const count = arrivals[i];
      if (count > 0) m_inout[i] = f32(m_inout[i] + f32(count * deposit));
    }
  },
};

export const diffuseGridKernel: KernelSpec = {
  name: 'memory_field.diffuse_grid',
  shader,
  entryPoint: 'diffuse_grid',
  cpu({ arrays: { m, m_next }, uniforms: { grid_params: p } }) {
    const rows = p.rows as number, cols = p.cols as number, d = f32(p.d as number);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const i = r * cols + c;
        const here = m[i];
        let flow = 0;
        if (r > 0) flow = f32(flow + f32(m[i - cols] - here));
        if (r + 1 < rows) flow = f32(flow + f32(m[i + cols] - here));
        if (c > 0) flow = f32(flow + f32(m[i - 1] - here));
        if (c + 1 < cols) flow = f32(flow + f32(m[i + 1] - here));
        m_next[i] = f32(here + f32(d * flow));
      }
    }
  },
};

export const diffuseGraphDenseKernel: KernelSpec = {
  name: 'memory_field.diffuse_graph_dense',
  shader,
  entryPoint: 'diffuse_graph_dense',
  cpu(launch) {
    const { n, d } = graphParams(launch);
    const { w, m, m_next } = launch.arrays;
    const df = f32(d);
    for (let i = 0; i < n; i++) {
      const base = i * n;
      let total = 0, weighted = 0;
      for (let j = 0; j < n; j++) {
        const v = w[base + j];
        if (v > 0) {
          total += v;
          weighted += v * m[j];
        }
      }
      m_next[i] = graphMixed(m[i], f32(total), f32(weighted), df);
    }
  },
};

export const diffuseGraphSparseKernel: KernelSpec = {
  name: 'memory_field.diffuse_graph_sparse',
  shader,
  entryPoint: 'diffuse_graph_sparse',
  cpu(launch) {
    const { n, nnz, d } = graphParams(launch);
    const { w, m, m_next, row_ptr, col_idx } = launch.arrays;
    const df = f32(d);
    for (let i = 0; i < n; i++) {
      const end = Math.min(row_ptr[i + 1], nnz);
      let total = 0, weighted = 0;
      for (let e = row_ptr[i]; e < end; e++) {
        const col = col_idx[e];
        if (col >= n) continue;
        const v = w[e] > 0 ? w[e] : 0;
        total = f32(total + v);
        weighted = f32(weighted + f32(v * m[col]));
      }
      m_next[i] = graphMixed(m[i], total, weighted, df);
    }
  },
};

function checkField(what: string, m: Tensor): number {
  requireDType(what, m, 'f32');
  if (m.rank !== 1) throw new ShapeError(`${what}: expected shape [N] f32, got ${m.describe()}`);
  return m.size;
}

function checkRate(name: string, v: number, lo: number, hi: number): void {
  if (typeof v !== 'number' || !(v >= lo && v <= hi)) throw new ParameterError(name, v, `a number in [${lo}, ${hi}]`);
}

/** M <- memDecay·M in place (memDecay in [0, 1]; 1 does no work). Returns m. */
export function memoryDecay(engine: Engine, m: Tensor, memDecay: number): Tensor {
  checkField('memoryDecay m', m);
  checkRate('memDecay', memDecay, 0, 1);
  if (memDecay === 1) return m;
  return affine(engine, m, memDecay, 0, m);
}

/**
 * M_i += arrivals_i · memDeposit in place, for u32 arrival counts (neurons without arrivals keep their
 * bits). Returns m.
 */
export function memoryDeposit(engine: Engine, m: Tensor, arrivals: Tensor, memDeposit: number): Tensor {
  const n = checkField('memoryDeposit m', m);
  requireDType('memoryDeposit arrivals', arrivals, 'u32');
  if (arrivals.rank !== 1 || arrivals.size !== n) throw new ShapeError(`memoryDeposit arrivals: expected shape [${n}] u32, got ${arrivals.describe()}`);
  if (typeof memDeposit !== 'number' || !Number.isFinite(memDeposit) || memDeposit < 0) {
    throw new ParameterError('memDeposit', memDeposit, 'a finite number >= 0');
  }
  const wg = workgroupSize(engine);
  engine.run({
    kernel: memoryDepositKernel,
    bindings: { m_inout: m, arrivals },
    uniforms: { deposit_params: { n, deposit: memDeposit } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return m;
}

export interface GridDiffusionOptions {
  rows: number;
  cols: number;
  /** Diffusion rate D in [0, 0.25]. */
  d: number;
}

export interface GraphDiffusionOptions {
  /** Diffusion rate D in [0, 1]. */
  d: number;
}

export interface FieldTensors {
  /** f32 [N], only read. */
  m: Tensor;
  /** f32 [N] output (distinct from m); allocated when absent and D > 0. */
  mNext?: Tensor;
}

/**
 * One diffusion step on a rows x cols grid (4 neighbours, reflecting edges): M + D·(L·M). Returns the
 * tensor holding the result: mNext, or m itself when D = 0 (nothing is launched).
 */
export function diffuseGrid(engine: Engine, tensors: FieldTensors, options: GridDiffusionOptions): Tensor {
  const { m } = tensors;
  const n = checkField('diffuseGrid m', m);
  const { rows, cols, d } = options;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new ParameterError('rows', rows, 'an integer >= 0');
  if (!Number.isSafeInteger(cols) || cols < 0) throw new ParameterError('cols', cols, 'an integer >= 0');
  if (rows * cols !== n) throw new ShapeError(`diffuseGrid: a ${rows} x ${cols} grid needs ${rows * cols} cells, got m ${m.describe()}`);
  checkRate('d', d, 0, GRID_MAX_D);
  const out = prepareOutput(engine, 'diffuseGrid', tensors, n, d);
  if (out === m || n === 0) return out;
  const wg = workgroupSize(engine);
  engine.run({
    kernel: diffuseGridKernel,
    bindings: { m, m_next: out },
    uniforms: { grid_params: { rows, cols, d } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/**
 * One diffusion step on the dense weight graph (w f32 [N*N] or [N, N], row i = weights into i):
 * M + D·(P·M - M), P the row-normalised positive part of w. Returns mNext, or m when D = 0.
 */
export function diffuseGraphDense(engine: Engine, tensors: FieldTensors & { w: Tensor }, options: GraphDiffusionOptions): Tensor {
  const { m, w } = tensors;
  const n = checkField('diffuseGraphDense m', m);
  checkDenseWeights('diffuseGraphDense', w, n);
  checkRate('d', options.d, 0, GRAPH_MAX_D);
  const out = prepareOutput(engine, 'diffuseGraphDense', tensors, n, options.d, w);
  if (out === m || n === 0) return out;
  const wg = rowWorkgroupSize(engine, n);
  engine.run({
    kernel: diffuseGraphDenseKernel,
    bindings: { w, m, m_next: out },
    uniforms: { graph_params: { n, nnz: n * n, d: options.d } },
    overrides: { WG: wg },
    workgroups: grid1d(n, 1, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/** The same step on a CSR weight graph (rowPtr u32 [N+1], colIdx u32 [nnz], w f32 [nnz]). */
export function diffuseGraphSparse(
  engine: Engine,
  tensors: FieldTensors & { rowPtr: Tensor; colIdx: Tensor; w: Tensor },
  options: GraphDiffusionOptions,
): Tensor {
  const { m, rowPtr, colIdx, w } = tensors;
  const { n, nnz } = checkCsr('diffuseGraphSparse', rowPtr, colIdx, w);
  if (checkField('diffuseGraphSparse m', m) !== n) throw new ShapeError(`diffuseGraphSparse m: expected shape [${n}] f32, got ${m.describe()}`);
  checkRate('d', options.d, 0, GRAPH_MAX_D);
  const out = prepareOutput(engine, 'diffuseGraphSparse', tensors, n, options.d, w);
  if (out === m || n === 0) return out;
  const wg = workgroupSize(engine);
  engine.run({
    kernel: diffuseGraphSparseKernel,
    bindings: { row_ptr: rowPtr, col_idx: colIdx, w, m, m_next: out },
    uniforms: { graph_params: { n, nnz, d: options.d } },
    overrides: { WG: wg },
    workgroups: grid1d(n, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/** mNext checked (or allocated); m itself when D = 0. */
function prepareOutput(engine: Engine, what: string, tensors: FieldTensors, n: number, d: number, ...inputs: Tensor[]): Tensor {
  if (tensors.mNext) {
    outputTensor(engine, `${what} mNext`, [n], 'f32', tensors.mNext);
    checkDistinct(`${what} mNext`, tensors.mNext, tensors.m, ...inputs);
  }
  if (d === 0) return tensors.m;
  return outputTensor(engine, `${what} mNext`, [n], 'f32', tensors.mNext);
}
