import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { seedKey } from '../engine/rng.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, requireDType, workgroupSize } from './common.js';
import { randomNormal } from './random.js';
import { max as reduceMax, min as reduceMin, sum as reduceSum } from './reduce.js';
import { cumsum } from './scan.js';
import { type DenseBlock, type ResolvedWeights, type SparkWeights, resolveWeights } from './sparknet-metrics.js';

/** Up to this many neurons method 'auto' sums all pairs; beyond, it uses the grid. */
export const EXACT_MAX_N = 20000;
/** The Philox stream of the 'original' formula's positions (SparkNet's streams 1-4 are in SPARKNET.md). */
export const LAYOUT_STREAM = 5;
export const MAX_GRID = 256;

/**
 * Defaults for positions of order 1 (a cloud like N(0, 1)): with SparkNet's initial W (N = 500) the
 * repulsion and the attraction balance at a radius of about 1. Explicit Euler moves smoothly while
 * dt·k_a·max_i sum_j Wn+_ij < 2; maxStep bounds each neuron's move where it does not.
 */
export const LAYOUT_DEFAULTS = {
  kRepulsion: 0.01,
  kAttraction: 0.05,
  dt: 0.1,
  epsilon: 0.01,
  maxStep: 0.1,
} as const;

export interface ForceLayoutOptions {
  /** k_r, the repulsion constant (>= 0). Default 0.01. */
  kRepulsion?: number;
  /** k_a, the attraction constant (>= 0) along normalised positive weights. Default 0.05. */
  kAttraction?: number;
  /** The step: x <- x + dt·F (>= 0). Default 0.1. */
  dt?: number;
  /** Softening length: repulsion is k_r·d / (|d|² + epsilon²) (> 0). Default 0.01. */
  epsilon?: number;
  /** Each neuron's displacement dt·F is shortened to this length when longer (> 0; Infinity: no cap). Default 0.1. */
  maxStep?: number;
  /** 'exact' (all pairs), 'grid' (far cells as point masses), 'auto' (exact up to EXACT_MAX_N neurons). */
  method?: 'auto' | 'exact' | 'grid';
  /** Grid side G (cells G x G, 2..256). Default round((9N)^(1/4)) clamped to [2, 256]. */
  grid?: number;
  /** Cells within this many cells of a neuron's own (in x and in y) act exactly. Default 1. */
  near?: number;
  /**
   * 'layout' (default): the update above from the given positions. 'original': the original's picture:
   * positions are redrawn from N(0, 1) (Philox, key seed, counter stream LAYOUT_STREAM, step) and
   * moved by -dt·F (both forces' signs inverted); the temperature still measures against the input.
   */
  formula?: 'layout' | 'original';
  /** The 'original' formula's seed (an integer in [0, 2^53)). Default 0. */
  seed?: number;
  /** The 'original' formula's counter step (pass the model's step so each update draws afresh). Default 0. */
  step?: number;
}

export interface ForceLayoutResult {
  /** New positions, f32 [N, 2]. */
  positions: Tensor;
  /** Learning temperature sum_i |x_i(t) - x_i(t-1)| (Euclidean), f32 []. */
  temperature: Tensor;
}

type LayoutParams = {
  n: number;
  count: number;
  row0: number;
  rows: number;
  k_r: number;
  k_a: number;
  eps2: number;
  dt: number;
  max_step: number;
  has_cap: number;
  sign: number;
  grid: number;
  near: number;
  digit_div: number;
  nblocks: number;
};

// ---------------------------------------------------------------------------------------------
// CPU twins. Sums over pairs and rows run in the WGSL's order, accumulated in f64 and rounded once.

function paramsOf(launch: CpuLaunch): LayoutParams {
  return launch.uniforms.lp as unknown as LayoutParams;
}

const NAN_BITS = 0x7fc00000;

function positiveMaxCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const w = launch.arrays.wvals;
  const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const acc = launch.arrays.wmax_acc;
  let best = acc[0];
  for (let e = 0; e < p.count; e++) {
    const b = bits[e];
    const v = (b & 0x7fffffff) > 0x7f800000 ? NAN_BITS : w[e] > 0 ? b : 0;
    if (v > best) best = v;
  }
  acc[0] = best;
}

function repelExactCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, force } = launch.arrays;
  const eps2 = f32(p.eps2), kr = f32(p.k_r);
  for (let i = 0; i < p.n; i++) {
    const xi = pos[2 * i], yi = pos[2 * i + 1];
    let fx = 0, fy = 0;
    for (let j = 0; j < p.n; j++) {
      if (j === i) continue;
      const dx = xi - pos[2 * j], dy = yi - pos[2 * j + 1];
      const r2 = dx * dx + dy * dy + eps2;
      fx += dx / r2;
      fy += dy / r2;
    }
    force[2 * i] = kr * f32(fx);
    force[2 * i + 1] = kr * f32(fy);
  }
}

const positivePart = (v: number) => (v > 0 ? v : v === v ? 0 : NaN);

function attractionScale(launch: CpuLaunch): number {
  const bits = launch.arrays.wmax_in[0];
  if (bits === 0) return 0;
  return f32(f32(paramsOf(launch).k_a) / new Float32Array(new Uint32Array([bits]).buffer)[0]);
}

function attractDenseCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, wvals, force } = launch.arrays;
  const scale = attractionScale(launch);
  for (let r = 0; r < p.rows; r++) {
    const i = p.row0 + r;
    const xi = pos[2 * i], yi = pos[2 * i + 1];
    let ax = 0, ay = 0;
    for (let j = 0, e = r * p.n; j < p.n; j++, e++) {
      const wp = positivePart(wvals[e]);
      ax += wp * (pos[2 * j] - xi);
      ay += wp * (pos[2 * j + 1] - yi);
    }
    force[2 * i] += scale * f32(ax);
    force[2 * i + 1] += scale * f32(ay);
  }
}

function attractCsrCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, wvals, row_ptr, col_idx, force } = launch.arrays;
  const scale = attractionScale(launch);
  for (let i = 0; i < p.n; i++) {
    const xi = pos[2 * i], yi = pos[2 * i + 1];
    let ax = 0, ay = 0;
    for (let e = row_ptr[i]; e < row_ptr[i + 1]; e++) {
      const j = col_idx[e];
      if (j >= p.n) continue;
      const wp = positivePart(wvals[e]);
      ax += wp * (pos[2 * j] - xi);
      ay += wp * (pos[2 * j + 1] - yi);
    }
    force[2 * i] += scale * f32(ax);
    force[2 * i + 1] += scale * f32(ay);
  }
}

function integrateCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, pos_prev, force, pos_out, disp } = launch.arrays;
  const factor = f32(f32(p.sign) * f32(p.dt));
  const cap = f32(p.max_step);
  for (let i = 0; i < p.n; i++) {
    let dx = f32(factor * force[2 * i]);
    let dy = f32(factor * force[2 * i + 1]);
    if (p.has_cap !== 0) {
      const len = f32(Math.sqrt(dx * dx + dy * dy));
      if (len > cap) {
        const s = f32(cap / len);
        dx = f32(dx * s);
        dy = f32(dy * s);
      }
    }
    const x = f32(pos[2 * i] + dx), y = f32(pos[2 * i + 1] + dy);
    pos_out[2 * i] = x;
    pos_out[2 * i + 1] = y;
    const ex = x - pos_prev[2 * i], ey = y - pos_prev[2 * i + 1];
    disp[i] = Math.sqrt(ex * ex + ey * ey);
  }
}

function cellCoordinate(v: number, lo: number, h: number, g: number): number {
  const u = f32(f32(v - lo) / h);
  if (u !== u) return 0;
  return Math.floor(Math.min(Math.max(u, 0), g - 1));
}

function gridCellsCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, bbox_lo, bbox_hi, keys, order } = launch.arrays;
  const extent = Math.max(f32(bbox_hi[0] - bbox_lo[0]), f32(bbox_hi[1] - bbox_lo[1]));
  let h = f32(extent / p.grid);
  if (!Number.isFinite(h) || !(h > 0)) h = 1;
  for (let i = 0; i < p.n; i++) {
    keys[i] = cellCoordinate(pos[2 * i + 1], bbox_lo[1], h, p.grid) * p.grid + cellCoordinate(pos[2 * i], bbox_lo[0], h, p.grid);
    order[i] = i;
  }
}

function sortHistCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { keys_in, hist } = launch.arrays;
  const wg = launch.overrides.WG;
  hist.fill(0, 0, p.grid * p.nblocks);
  for (let k = 0; k < p.n; k++) {
    const d = Math.floor(keys_in[k] / p.digit_div) % p.grid;
    hist[d * p.nblocks + Math.floor(k / wg)]++;
  }
}

function sortScatterCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { keys_in, order_in, offsets, keys, order } = launch.arrays;
  const wg = launch.overrides.WG;
  const next = new Uint32Array(p.grid);
  for (let b = 0; b < p.nblocks; b++) {
    for (let d = 0; d < p.grid; d++) next[d] = offsets[d * p.nblocks + b];
    for (let k = b * wg; k < Math.min((b + 1) * wg, p.n); k++) {
      const dest = next[Math.floor(keys_in[k] / p.digit_div) % p.grid]++;
      keys[dest] = keys_in[k];
      order[dest] = order_in[k];
    }
  }
}

function cellRangesCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { keys_in, cell_start } = launch.arrays;
  let k = 0;
  for (let c = 0; c <= p.grid * p.grid; c++) {
    while (k < p.n && keys_in[k] < c) k++;
    cell_start[c] = k;
  }
}

function cellMassCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, order_in, cell_first, cell_com } = launch.arrays;
  for (let c = 0; c < p.grid * p.grid; c++) {
    const first = cell_first[c], last = cell_first[c + 1];
    let sx = 0, sy = 0;
    for (let k = first; k < last; k++) {
      sx += pos[2 * order_in[k]];
      sy += pos[2 * order_in[k] + 1];
    }
    const count = Math.max(last - first, 1);
    cell_com[2 * c] = f32(sx) / count;
    cell_com[2 * c + 1] = f32(sy) / count;
  }
}

function repelGridCpu(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { pos, own_keys, order_in, cell_first, cell_com_in, force } = launch.arrays;
  const eps2 = f32(p.eps2), kr = f32(p.k_r), g = p.grid;
  for (let i = 0; i < p.n; i++) {
    const xi = pos[2 * i], yi = pos[2 * i + 1];
    const ox = own_keys[i] % g, oy = Math.floor(own_keys[i] / g);
    let fx = 0, fy = 0;
    for (let cy = 0; cy < g; cy++) {
      const nearRow = Math.abs(cy - oy) <= p.near;
      for (let cx = 0; cx < g; cx++) {
        const c = cy * g + cx;
        const first = cell_first[c], last = cell_first[c + 1];
        if (last === first) continue;
        if (nearRow && Math.abs(cx - ox) <= p.near) {
          for (let k = first; k < last; k++) {
            const j = order_in[k];
            if (j === i) continue;
            const dx = xi - pos[2 * j], dy = yi - pos[2 * j + 1];
            const r2 = dx * dx + dy * dy + eps2;
            fx += dx / r2;
            fy += dy / r2;
          }
        } else {
          const dx = xi - cell_com_in[2 * c], dy = yi - cell_com_in[2 * c + 1];
          const m = (last - first) / (dx * dx + dy * dy + eps2);
          fx += m * dx;
          fy += m * dy;
        }
      }
    }
    force[2 * i] = kr * f32(fx);
    force[2 * i + 1] = kr * f32(fy);
  }
}

const shader = SHADERS.force_layout;

function spec(entryPoint: string, cpu: KernelSpec['cpu']): KernelSpec {
  return { name: `force_layout.${entryPoint}`, shader, entryPoint, cpu };
}

export const positiveMaxKernel = spec('positive_max', positiveMaxCpu);
export const repelExactKernel = spec('repel_exact', repelExactCpu);
export const attractDenseKernel = spec('attract_dense', attractDenseCpu);
export const attractCsrKernel = spec('attract_csr', attractCsrCpu);
export const integrateKernel = spec('integrate', integrateCpu);
export const gridCellsKernel = spec('grid_cells', gridCellsCpu);
export const sortHistKernel = spec('sort_hist', sortHistCpu);
export const sortScatterKernel = spec('sort_scatter', sortScatterCpu);
export const cellRangesKernel = spec('cell_ranges', cellRangesCpu);
export const cellMassKernel = spec('cell_mass', cellMassCpu);
export const repelGridKernel = spec('repel_grid', repelGridCpu);

// ---------------------------------------------------------------------------------------------
// Options.

interface Resolved {
  kRepulsion: number;
  kAttraction: number;
  dt: number;
  epsilon: number;
  maxStep: number;
  grid: number | null;
  near: number;
  original: boolean;
  seed: number;
  step: number;
}

function finiteAtLeast0(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ParameterError(name, v, 'a finite number >= 0');
  return v;
}

function integerIn(name: string, v: unknown, lo: number, hi: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || (v as number) < lo || (v as number) > hi) throw new ParameterError(name, v, `an integer in [${lo}, ${hi}]`);
  return v as number;
}

/** The grid side for N neurons: about sqrt(3·sqrt(N)) balances far cells (G²) against near members (9N/G²). */
export function defaultGrid(n: number): number {
  return Math.min(MAX_GRID, Math.max(2, Math.round(Math.pow(9 * Math.max(n, 1), 0.25))));
}

function resolveOptions(n: number, options: ForceLayoutOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new ParameterError('forceLayout options', options, 'an object');
  const d = LAYOUT_DEFAULTS;
  const epsilon = options.epsilon ?? d.epsilon;
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon <= 0) throw new ParameterError('epsilon', epsilon, 'a finite number > 0');
  const maxStep = options.maxStep ?? d.maxStep;
  if (typeof maxStep !== 'number' || Number.isNaN(maxStep) || maxStep <= 0) throw new ParameterError('maxStep', maxStep, 'a number > 0 (Infinity: no cap)');
  const method = options.method ?? 'auto';
  if (!['auto', 'exact', 'grid'].includes(method)) throw new ParameterError('method', method, "'auto' | 'exact' | 'grid'");
  const formula = options.formula ?? 'layout';
  if (!['layout', 'original'].includes(formula)) throw new ParameterError('formula', formula, "'layout' | 'original'");
  const useGrid = method === 'grid' || (method === 'auto' && n > EXACT_MAX_N);
  const grid = integerIn('grid', options.grid, 2, MAX_GRID, defaultGrid(n));
  const seed = options.seed ?? 0;
  seedKey(seed);
  return {
    kRepulsion: finiteAtLeast0('kRepulsion', options.kRepulsion, d.kRepulsion),
    kAttraction: finiteAtLeast0('kAttraction', options.kAttraction, d.kAttraction),
    dt: finiteAtLeast0('dt', options.dt, d.dt),
    epsilon,
    maxStep,
    grid: useGrid ? grid : null,
    near: integerIn('near', options.near, 0, MAX_GRID, 1),
    original: formula === 'original',
    seed,
    step: integerIn('step', options.step, 0, 0xffffffff, 0),
  };
}

function checkPositions(positions: Tensor): number {
  if (typeof positions !== 'object' || positions === null || !('describe' in positions)) throw new ParameterError('positions', positions, 'a tensor');
  if (positions.disposed) throw new ShapeError(`positions: ${positions.describe()} was disposed`);
  requireDType('positions', positions, 'f32');
  if (positions.rank !== 2 || positions.shape[1] !== 2) throw new ShapeError(`positions: expected [N, 2] f32, got ${positions.describe()}`);
  return positions.shape[0];
}

// ---------------------------------------------------------------------------------------------
// Passes.

interface Ctx {
  engine: Engine;
  wg: number;
  maxDim: number;
  params: LayoutParams;
}

function run(ctx: Ctx, kernel: KernelSpec, bindings: Record<string, Tensor>, workgroups: [number, number, number], params: Partial<LayoutParams> = {}): void {
  ctx.engine.run({ kernel, bindings, uniforms: { lp: { ...ctx.params, ...params } }, overrides: { WG: ctx.wg }, workgroups });
}

function perItem(ctx: Ctx, items: number): [number, number, number] {
  return grid1d(items, ctx.wg, ctx.maxDim);
}

function perGroup(ctx: Ctx, groups: number): [number, number, number] {
  return grid1d(groups * ctx.wg, ctx.wg, ctx.maxDim);
}

function repelExact(ctx: Ctx, pos: Tensor, force: Tensor): void {
  run(ctx, repelExactKernel, { pos, force }, perGroup(ctx, Math.ceil(ctx.params.n / ctx.wg)));
}

/** Stable counting sort of the cell keys by one digit (cx for digitDiv 1, cy for digitDiv G). */
function sortPass(ctx: Ctx, keysIn: Tensor, orderIn: Tensor, digitDiv: number): { keys: Tensor; order: Tensor } {
  const { engine, params } = ctx;
  const nblocks = Math.ceil(params.n / ctx.wg);
  const hist = engine.empty([params.grid * nblocks], 'u32', 'forceLayout.hist');
  run(ctx, sortHistKernel, { keys_in: keysIn, hist }, perGroup(ctx, nblocks), { digit_div: digitDiv, nblocks });
  const offsets = cumsum(engine, hist, { exclusive: true });
  hist.dispose();
  const keys = engine.empty([params.n], 'u32', 'forceLayout.keys');
  const order = engine.empty([params.n], 'u32', 'forceLayout.order');
  run(ctx, sortScatterKernel, { keys_in: keysIn, order_in: orderIn, offsets, keys, order }, perGroup(ctx, nblocks), { digit_div: digitDiv, nblocks });
  offsets.dispose();
  return { keys, order };
}

function repelGrid(ctx: Ctx, pos: Tensor, force: Tensor): void {
  const { engine, params } = ctx;
  const n = params.n, g = params.grid;
  const lo = reduceMin(engine, pos, { axis: 0 });
  const hi = reduceMax(engine, pos, { axis: 0 });
  const ownKeys = engine.empty([n], 'u32', 'forceLayout.cell');
  const identity = engine.empty([n], 'u32', 'forceLayout.identity');
  run(ctx, gridCellsKernel, { pos, bbox_lo: lo, bbox_hi: hi, keys: ownKeys, order: identity }, perItem(ctx, n));
  lo.dispose();
  hi.dispose();
  const byX = sortPass(ctx, ownKeys, identity, 1);
  identity.dispose();
  const sorted = sortPass(ctx, byX.keys, byX.order, g);
  byX.keys.dispose();
  byX.order.dispose();
  const cellStart = engine.empty([g * g + 1], 'u32', 'forceLayout.cell_start');
  run(ctx, cellRangesKernel, { keys_in: sorted.keys, cell_start: cellStart }, perItem(ctx, g * g + 1));
  sorted.keys.dispose();
  const com = engine.empty([g * g, 2], 'f32', 'forceLayout.cell_com');
  run(ctx, cellMassKernel, { pos, order_in: sorted.order, cell_first: cellStart, cell_com: com }, perItem(ctx, g * g));
  run(ctx, repelGridKernel, { pos, own_keys: ownKeys, order_in: sorted.order, cell_first: cellStart, cell_com_in: com, force }, perItem(ctx, n));
  for (const t of [ownKeys, sorted.order, cellStart, com]) t.dispose();
}

/** Adds the attraction along normalised positive weights to `force`. */
function attract(ctx: Ctx, pos: Tensor, force: Tensor, weights: ResolvedWeights): void {
  const { engine, params } = ctx;
  const wmax = engine.zeros([1], 'u32', 'forceLayout.wmax');
  const maxGroups = (count: number) => Math.min(Math.ceil(count / (ctx.wg * 16)), 4096);
  const sources: Tensor[] = weights.kind === 'dense' ? weights.blocks.map((b) => b.w) : [weights.w];
  for (const w of sources) {
    run(ctx, positiveMaxKernel, { wvals: w, wmax_acc: wmax }, perGroup(ctx, maxGroups(w.size)), { count: w.size });
  }
  if (weights.kind === 'dense') {
    for (const b of weights.blocks as DenseBlock[]) {
      run(ctx, attractDenseKernel, { pos, wvals: b.w, wmax_in: wmax, force }, perGroup(ctx, b.rows), { row0: b.row0, rows: b.rows });
    }
  } else {
    run(ctx, attractCsrKernel, { pos, row_ptr: weights.rowPtr, col_idx: weights.colIdx, wvals: weights.w, wmax_in: wmax, force }, perItem(ctx, params.n));
  }
  wmax.dispose();
}

const floorPow2 = (v: number) => 2 ** Math.floor(Math.log2(v));

/**
 * One update of the force-directed layout (SCIENCE.md §1) of N neurons at `positions` (f32 [N, 2]):
 *   F_i = k_r · sum_{j != i} d_ij / (|d_ij|² + epsilon²)  +  k_a · sum_j Wn+_ij · (x_j - x_i),
 *   x_i <- x_i + dt·F_i, the displacement shortened to maxStep when longer,
 * d_ij = x_i - x_j, Wn+ = the positive part of W (wScale·w, dense or CSR; row i holds i's weights)
 * divided by its largest entry over the matrix (no attraction when W has no positive entry or
 * `weights` is null; wScale > 0 cancels in the normalisation; a NaN weight makes every force NaN).
 * Repulsion sums all pairs ('exact') or uses a G x G grid over the bounding square ('grid': the own
 * and `near` adjacent cells exactly, other cells as their count at their centre of mass; a cloud
 * packed into few cells costs up to all pairs); attraction is always exact. Coincident points exert
 * no force on each other.
 * Returns the new positions (a new tensor, or out.positions, never the input) and the learning
 * temperature sum_i |x_i(new) - x_i(input)|. Fixed order throughout: bit-identical run to run.
 */
export function forceLayout(
  engine: Engine,
  positions: Tensor,
  weights: SparkWeights | null,
  options: ForceLayoutOptions = {},
  out: { positions?: Tensor; temperature?: Tensor } = {},
): ForceLayoutResult {
  const n = checkPositions(positions);
  const o = resolveOptions(n, options);
  const resolved = weights === null ? null : resolveWeights(n, weights);
  if (typeof out !== 'object' || out === null) throw new ParameterError('forceLayout out', out, '{ positions?, temperature? }');
  if (out.positions === positions) throw new ShapeError(`forceLayout: out.positions must not be the input ${positions.describe()}`);
  const next = outputTensor(engine, 'forceLayout.positions', [n, 2], 'f32', out.positions);
  const temperature = outputTensor(engine, 'forceLayout.temperature', [], 'f32', out.temperature);
  if (n === 0) {
    engine.write(temperature, [0]);
    return { positions: next, temperature };
  }
  const grid = o.grid ?? 1;
  const ctx: Ctx = {
    engine,
    wg: floorPow2(workgroupSize(engine)),
    maxDim: engine.limits.maxComputeWorkgroupsPerDimension,
    params: {
      n, count: 0, row0: 0, rows: 0,
      k_r: o.kRepulsion, k_a: o.kAttraction, eps2: o.epsilon * o.epsilon, dt: o.dt,
      max_step: Number.isFinite(o.maxStep) ? o.maxStep : 0, has_cap: Number.isFinite(o.maxStep) ? 1 : 0,
      sign: o.original ? -1 : 1, grid, near: o.near, digit_div: 1, nblocks: 0,
    },
  };
  const start = o.original ? randomNormal(engine, [n, 2], { seed: o.seed, stream: LAYOUT_STREAM, step: o.step }) : positions;
  const force = engine.empty([n, 2], 'f32', 'forceLayout.force');
  if (o.grid !== null) repelGrid(ctx, start, force);
  else repelExact(ctx, start, force);
  if (resolved && o.kAttraction > 0) attract(ctx, start, force, resolved);
  const disp = engine.empty([n], 'f32', 'forceLayout.displacement');
  run(ctx, integrateKernel, { pos: start, pos_prev: positions, force, pos_out: next, disp }, perItem(ctx, n));
  force.dispose();
  if (start !== positions) start.dispose();
  reduceSum(engine, disp, { axis: null }, temperature);
  disp.dispose();
  return { positions: next, temperature };
}
