import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normalizeAxis, splitAtAxis } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, requireDType, workgroupSize } from './common.js';

const BINS = 256;
/** Positions of a row one histogram workgroup counts, per invocation. */
const ITEMS_PER_THREAD = 16;
/** Rows per batch: their counts (2·BINS u32 each) take 16 MiB. */
const ROWS_PER_BATCH = 8192;
/** The digit of each pass, high byte first, and the mask of the bits above it. */
const PASSES = [24, 16, 8, 0].map((shift) => ({ shift, mask: shift === 24 ? 0 : (0xffffffff << (shift + 8)) >>> 0 }));

interface QuantileUniform {
  row0: number;
  rows: number;
  n: number;
  inner: number;
  chunks: number;
  chunk: number;
  shift: number;
  mask: number;
  first: number;
  last: number;
  two: number;
  lo: number;
  frac: number;
}

function paramsOf(launch: CpuLaunch): QuantileUniform {
  return launch.uniforms.qp as unknown as QuantileUniform;
}

/** CPU twin of `histogram`: counts, per row of the batch, the digits of |x| under each rank's prefix. */
function cpuHistogram(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { values, hist, state } = launch.arrays;
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const { n, inner, shift, mask } = p;
  for (let row = 0; row < p.rows; row++) {
    const r = p.row0 + row;
    const o = Math.floor(r / inner);
    const start = o * n * inner + (r - o * inner);
    const base = row * 2 * BINS;
    const wantLo = (state[row * 4] & mask) >>> 0;
    const wantHi = (state[row * 4 + 2] & mask) >>> 0;
    const two = p.two !== 0;
    for (let k = 0, i = start; k < n; k++, i += inner) {
      const b = bits[i] & 0x7fffffff;
      const digit = (b >>> shift) & 0xff;
      const high = (b & mask) >>> 0;
      if (high === wantLo) hist[base + digit]++;
      if (two && high === wantHi) hist[base + BINS + digit]++;
    }
  }
}

/** The bucket of counts[base .. base + BINS) holding `rank`, and the rank within it. */
function pickBucket(counts: ArrayLike<number>, base: number, rank: number): [number, number] {
  let below = 0;
  for (let b = 0; b < BINS; b++) {
    const c = counts[base + b];
    if (rank < below + c) return [b, rank - below];
    below += c;
  }
  return [BINS - 1, 0];
}

const asFloat = new Float32Array(1);
const asBits = new Uint32Array(asFloat.buffer);

function floatOfBits(b: number): number {
  asBits[0] = b;
  return asFloat[0];
}

/** v_lo + frac·(v_hi - v_lo) in f32; equal values give themselves, a NaN above gives NaN. */
function interpolateBits(loBits: number, hiBits: number, two: boolean, frac: number): number {
  const lo = floatOfBits(loBits);
  if (!two || hiBits === loBits) return lo;
  const hi = floatOfBits(hiBits);
  if (Number.isNaN(hi)) return hi;
  return f32(lo + f32(frac * f32(hi - lo)));
}

/** CPU twin of `select_digit`. */
function cpuSelectDigit(launch: CpuLaunch): void {
  const p = paramsOf(launch);
  const { hist, state, quantiles } = launch.arrays;
  const two = p.two !== 0;
  for (let row = 0; row < p.rows; row++) {
    const at = row * 4;
    let [pLo, rLo, pHi, rHi] = p.first !== 0 ? [0, p.lo, 0, p.lo + 1] : [state[at], state[at + 1], state[at + 2], state[at + 3]];
    const base = row * 2 * BINS;
    const [dLo, inLo] = pickBucket(hist, base, rLo);
    pLo = (pLo | (dLo << p.shift)) >>> 0;
    rLo = inLo;
    if (two) {
      const [dHi, inHi] = pickBucket(hist, base + BINS, rHi);
      pHi = (pHi | (dHi << p.shift)) >>> 0;
      rHi = inHi;
    }
    hist.fill(0, base, base + 2 * BINS);
    state[at] = pLo;
    state[at + 1] = rLo;
    state[at + 2] = pHi;
    state[at + 3] = rHi;
    if (p.last !== 0) quantiles[p.row0 + row] = interpolateBits(pLo, pHi, two, f32(p.frac));
  }
}

const shader = SHADERS.quantile;

export const quantileHistogramKernel: KernelSpec = {
  name: 'quantile.histogram',
  shader,
  entryPoint: 'histogram',
  cpu: cpuHistogram,
};

export const quantileSelectKernel: KernelSpec = {
  name: 'quantile.select_digit',
  shader,
  entryPoint: 'select_digit',
  cpu: cpuSelectDigit,
};

export interface QuantileOptions {
  /** The axis to reduce; negative counts from the end. Default: the last axis. */
  axis?: number;
}

/**
 * The q-quantile of |x| along an axis (default the last), with linear interpolation as
 * torch.quantile / numpy's default: over the sorted |x| of a row (n values), pos = q·(n - 1),
 * lo = floor(pos), result = v[lo] + (pos - lo)·(v[lo + 1] - v[lo]), in f32; where v[lo + 1] equals
 * v[lo] (also +Inf) the result is v[lo]. The output drops the axis: [rows, n] gives [rows], a 1-D
 * x gives a scalar []. |NaN| sorts above +Inf (by its bits), so a rank landing on it gives NaN.
 * Radix select on the bits of |x|: O(n) per row, no sort, deterministic and the same on every backend
 * up to the f32 rounding of the final interpolation.
 */
export function quantileAbs(engine: Engine, x: Tensor, q: number, options: QuantileOptions = {}, out?: Tensor): Tensor {
  requireDType('quantileAbs', x, 'f32');
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new ParameterError('quantileAbs q', q, 'a number in [0, 1]');
  const axis = normalizeAxis(options.axis ?? Math.max(x.rank - 1, 0), x.rank);
  const [outer, n, inner] = splitAtAxis(x.shape, axis);
  if (n === 0) throw new ShapeError(`quantileAbs: axis ${axis} of ${x.describe()} has no values, so it has no quantile`);
  if (out === x) throw new ShapeError(`quantileAbs: out must not be the input ${x.describe()}`);
  const y = outputTensor(engine, 'quantileAbs', x.shape.filter((_, i) => i !== axis), 'f32', out);
  const rows = outer * inner;
  if (rows === 0) return y;

  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const frac = f32(pos - lo);
  const two = frac > 0 ? 1 : 0;
  const wg = workgroupSize(engine);
  const maxDim = engine.limits.maxComputeWorkgroupsPerDimension;
  const chunk = wg * ITEMS_PER_THREAD;
  const chunks = Math.ceil(n / chunk);
  const batch = Math.min(rows, ROWS_PER_BATCH);
  const hist = engine.zeros([batch * 2 * BINS], 'u32', 'quantile.hist');
  const state = engine.empty([batch * 4], 'u32', 'quantile.state');
  for (let row0 = 0; row0 < rows; row0 += batch) {
    const count = Math.min(batch, rows - row0);
    PASSES.forEach(({ shift, mask }, pass) => {
      const qp = { row0, rows: count, n, inner, chunks, chunk, shift, mask, first: pass === 0 ? 1 : 0, last: pass === PASSES.length - 1 ? 1 : 0, two, lo, frac };
      engine.run({ kernel: quantileHistogramKernel, bindings: { values: x, hist, state }, uniforms: { qp }, overrides: { WG: wg }, workgroups: grid1d(count * chunks, 1, maxDim) });
      engine.run({ kernel: quantileSelectKernel, bindings: { hist, state, quantiles: y }, uniforms: { qp }, overrides: { WG: wg }, workgroups: grid1d(count, wg, maxDim) });
    });
  }
  hist.dispose();
  state.dispose();
  return y;
}
