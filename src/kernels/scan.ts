import type { AnyTypedArray } from '../engine/dtype.js';
import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, type Launch, grid1d } from '../engine/kernel.js';
import { normalizeAxis, splitAtAxis } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType, workgroupSize } from './common.js';

/** Elements per invocation in a block (E in shaders/scan.wgsl); a block holds ELEMENTS_PER_THREAD·WG. */
const ELEMENTS_PER_THREAD = 16;
/** partial[] in workgroup memory holds one total per invocation, so WG <= 256. */
const MAX_WG = 256;
/** Rows up to this length are scanned one row per invocation, longer ones block by block. */
const SERIAL_MAX_LEN = 64;

/** How the bits in a scan are added: as f32 (0) or as wrapping 32-bit integers (1); the KIND override. */
type Kind = 0 | 1;
const FLOAT: Kind = 0;
const INT: Kind = 1;

interface ScanGeometry {
  rows: number;
  len: number;
  inner: number;
  blocks: number;
}

/** Row r's elements in scan order are start + k·step (the [outer, len, inner] view, maybe reversed). */
function rowStart(g: ScanGeometry, row: number, reverse: boolean): number {
  const o = Math.floor(row / g.inner);
  const c = row - o * g.inner;
  return (o * g.len + (reverse ? g.len - 1 : 0)) * g.inner + c;
}

function rowStep(g: ScanGeometry, reverse: boolean): number {
  return reverse ? -g.inner : g.inner;
}

/** The u32 bits as the scan adds them: as Float32Array (KIND f32) or as Int32Array (wrapping integers). */
function lanes(a: AnyTypedArray, kind: Kind): Float32Array | Int32Array {
  return kind === FLOAT ? new Float32Array(a.buffer, a.byteOffset, a.length) : new Int32Array(a.buffer, a.byteOffset, a.length);
}

/**
 * Serial scan of scan positions [from, to) of one row (element start + k·step) into dst; returns the
 * segment's total. The first value of an inclusive scan is copied, not added to 0, as the WGSL does.
 */
function scanSegment(
  src: Float32Array | Int32Array, dst: Float32Array | Int32Array, start: number, step: number,
  from: number, to: number, exclusive: boolean, kind: Kind,
): number {
  let acc = 0;
  let i = start + from * step;
  if (kind === FLOAT) {
    if (exclusive) {
      for (let k = from; k < to; k++, i += step) {
        dst[i] = acc;
        acc = Math.fround(acc + src[i]);
      }
    } else if (to > from) {
      acc = src[i];
      dst[i] = acc;
      for (let k = from + 1; k < to; k++) {
        i += step;
        acc = Math.fround(acc + src[i]);
        dst[i] = acc;
      }
    }
  } else if (exclusive) {
    for (let k = from; k < to; k++, i += step) {
      dst[i] = acc;
      acc = (acc + src[i]) | 0;
    }
  } else {
    for (let k = from; k < to; k++, i += step) {
      acc = (acc + src[i]) | 0;
      dst[i] = acc;
    }
  }
  return acc;
}

function addLanes(a: number, b: number, kind: Kind): number {
  return kind === FLOAT ? Math.fround(a + b) : (a + b) | 0;
}

interface Flags {
  kind: Kind;
  exclusive: boolean;
  reverse: boolean;
}

function flagsOf(overrides: Record<string, number>): Flags {
  return { kind: overrides.KIND === INT ? INT : FLOAT, exclusive: overrides.EXCLUSIVE === 1, reverse: overrides.REVERSE === 1 };
}

function geometryOf(launch: CpuLaunch): ScanGeometry {
  const p = launch.uniforms.scan_params;
  return { rows: p.rows as number, len: p.len as number, inner: p.inner as number, blocks: p.blocks as number };
}

/** CPU twin of scan_block: each block of E·WG elements scanned on its own, its total in block_sums. */
function cpuScanBlocks(launch: CpuLaunch): void {
  const g = geometryOf(launch);
  const { kind, exclusive, reverse } = flagsOf(launch.overrides);
  const block = ELEMENTS_PER_THREAD * launch.overrides.WG;
  const { x, y, block_sums } = launch.arrays;
  const s = lanes(x, kind), d = lanes(y, kind), sums = lanes(block_sums, kind);
  const step = rowStep(g, reverse);
  for (let row = 0; row < g.rows; row++) {
    const start = rowStart(g, row, reverse);
    for (let b = 0; b < g.blocks; b++) {
      const from = b * block;
      sums[row * g.blocks + b] = scanSegment(s, d, start, step, from, Math.min(g.len, from + block), exclusive, kind);
    }
  }
}

/** CPU twin of add_offsets: blocks 1.. of each row get offsets[row·blocks + block] added. */
function cpuAddOffsets(launch: CpuLaunch): void {
  const g = geometryOf(launch);
  const { kind, reverse } = flagsOf(launch.overrides);
  const block = ELEMENTS_PER_THREAD * launch.overrides.WG;
  const d = lanes(launch.arrays.y, kind), off = lanes(launch.arrays.offsets, kind);
  const step = rowStep(g, reverse);
  for (let row = 0; row < g.rows; row++) {
    const start = rowStart(g, row, reverse);
    for (let b = 1; b < g.blocks; b++) {
      const o = off[row * g.blocks + b];
      const to = Math.min(g.len, (b + 1) * block);
      for (let k = b * block, i = start + k * step; k < to; k++, i += step) d[i] = addLanes(o, d[i], kind);
    }
  }
}

/** CPU twin of scan_serial: each row scanned in order. */
function cpuScanRows(launch: CpuLaunch): void {
  const g = geometryOf(launch);
  const { kind, exclusive, reverse } = flagsOf(launch.overrides);
  const s = lanes(launch.arrays.x, kind), d = lanes(launch.arrays.y, kind);
  const step = rowStep(g, reverse);
  for (let row = 0; row < g.rows; row++) scanSegment(s, d, rowStart(g, row, reverse), step, 0, g.len, exclusive, kind);
}

const shader = SHADERS.scan;

export const scanBlockKernel: KernelSpec = { name: 'scan.block', shader, entryPoint: 'scan_block', cpu: cpuScanBlocks };
export const addOffsetsKernel: KernelSpec = { name: 'scan.add_offsets', shader, entryPoint: 'add_offsets', cpu: cpuAddOffsets };
export const scanSerialKernel: KernelSpec = { name: 'scan.serial', shader, entryPoint: 'scan_serial', cpu: cpuScanRows };

/** The largest power of two not above the engine's 1-D workgroup size, at most 256. */
function scanWorkgroupSize(engine: Engine): number {
  const wg = workgroupSize(engine, MAX_WG);
  return 2 ** Math.floor(Math.log2(wg));
}

/** Runs a scan pass with every tensor bound as its u32 view; the views are released right after. */
function runOnBits(engine: Engine, launch: Launch): void {
  const views = Object.entries(launch.bindings).map(([name, t]) => [name, t.view(t.shape, 'u32')] as const);
  engine.run({ ...launch, bindings: Object.fromEntries(views) });
  for (const [, v] of views) v.dispose();
}

/**
 * Scans rows of `src` into `dst` (same dtype): serially for short rows, else block by block with the
 * block totals (u32 bits) scanned recursively and added back.
 */
function scanRows(engine: Engine, src: Tensor, dst: Tensor, rows: number, len: number, inner: number, flags: Flags): void {
  const wg = scanWorkgroupSize(engine);
  const maxDim = engine.limits.maxComputeWorkgroupsPerDimension;
  const kind = flags.kind;
  const EXCLUSIVE = flags.exclusive ? 1 : 0;
  const REVERSE = flags.reverse ? 1 : 0;
  if (len <= SERIAL_MAX_LEN) {
    runOnBits(engine, {
      kernel: scanSerialKernel,
      bindings: { x: src, y: dst },
      uniforms: { scan_params: { rows, len, inner, blocks: 1 } },
      overrides: { WG: wg, KIND: kind, EXCLUSIVE, REVERSE },
      workgroups: grid1d(rows, wg, maxDim),
    });
    return;
  }
  const blocks = Math.ceil(len / (ELEMENTS_PER_THREAD * wg));
  const scan_params = { rows, len, inner, blocks };
  const sums = engine.empty([rows * blocks], 'u32', 'scan.block_sums');
  runOnBits(engine, {
    kernel: scanBlockKernel,
    bindings: { x: src, y: dst, block_sums: sums },
    uniforms: { scan_params },
    overrides: { WG: wg, KIND: kind, EXCLUSIVE, REVERSE },
    workgroups: grid1d(rows * blocks, 1, maxDim),
  });
  if (blocks > 1) {
    const offsets = engine.empty([rows * blocks], 'u32', 'scan.offsets');
    scanRows(engine, sums, offsets, rows, blocks, 1, { kind, exclusive: true, reverse: false });
    runOnBits(engine, {
      kernel: addOffsetsKernel,
      bindings: { y: dst, offsets },
      uniforms: { scan_params },
      overrides: { WG: wg, KIND: kind, REVERSE },
      workgroups: grid1d(rows * (blocks - 1), 1, maxDim),
    });
    offsets.dispose();
  }
  sums.dispose();
}

export interface CumsumOptions {
  /** The axis to scan; negative counts from the end. Default: the last axis (unlike tf.cumsum's 0). */
  axis?: number;
  /** y[k] = sum of x[j] for j < k (the first is 0) instead of j <= k. */
  exclusive?: boolean;
  /** Scan from the end of the axis: y[k] = sum of x[j] for j >= k (or j > k when exclusive). */
  reverse?: boolean;
}

function booleanOption(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ParameterError(name, value, 'true or false');
  return value;
}

/**
 * Cumulative sum along an axis, as tf.cumsum, for f32, i32 and u32 (integers wrap modulo 2^32).
 * Rank 0 is one element. f32 sums are added in a fixed blocked order (bit-identical run to run on a
 * backend, not across backends); `out` must not be `x`.
 */
export function cumsum(engine: Engine, x: Tensor, options: CumsumOptions = {}, out?: Tensor): Tensor {
  requireDType('cumsum', x, 'f32', 'i32', 'u32');
  const axis = normalizeAxis(options.axis ?? Math.max(x.rank - 1, 0), x.rank);
  const exclusive = booleanOption('cumsum exclusive', options.exclusive);
  const reverse = booleanOption('cumsum reverse', options.reverse);
  if (out === x) throw new ShapeError(`cumsum: out must not be the input ${x.describe()} (no in-place scan)`);
  const y = outputTensor(engine, 'cumsum', x.shape, x.dtype, out);
  if (x.size === 0) return y;
  const [outer, len, inner] = splitAtAxis(x.shape, axis);
  const kind = x.dtype === 'f32' ? FLOAT : INT;
  scanRows(engine, x, y, outer * inner, len, inner, { kind, exclusive, reverse });
  return y;
}
