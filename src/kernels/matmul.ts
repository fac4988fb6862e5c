import { defineRowTask, runRows, shareable, sharedScratch, worthThreads } from '../engine/cpu/worker-pool.js';
import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import type { CpuLaunch, KernelSpec } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { outputTensor, requireDType } from './common.js';

/**
 * The workgroup geometry: x by y invocations, each computing a block of blockRows x blockCols elements
 * of C (multiples of 4, at most 16), over K in steps of k. A workgroup covers a
 * (y·blockRows) x (x·blockCols) tile of C.
 */
export interface MatmulTile {
  x: number;
  y: number;
  k: number;
  blockRows: number;
  blockCols: number;
}

export interface MatmulOptions {
  /** Read `a` as [.., K, M] and use its transpose. */
  transposeA?: boolean;
  /** Read `b` as [.., N, K] and use its transpose. */
  transposeB?: boolean;
  /** The workgroup geometry; default: matmulTile(engine). */
  tile?: MatmulTile;
}

/** 4x4 blocks in 64x64 tiles: small register blocks suit GPUs. */
export const MATMUL_GPU_TILE: MatmulTile = { x: 16, y: 16, k: 16, blockRows: 4, blockCols: 4 };

/**
 * 16x16 blocks in 128x128 tiles for software rasterizers, where each workgroup-memory access is a loop
 * over SIMD lanes: 4x fewer accesses per multiply-add than 4x4 blocks (3.5x faster on llvmpipe).
 */
export const MATMUL_SOFTWARE_TILE: MatmulTile = { x: 8, y: 8, k: 16, blockRows: 16, blockCols: 16 };

const FALLBACK_TILES: readonly MatmulTile[] = [
  { x: 8, y: 8, k: 16, blockRows: 4, blockCols: 4 },
  { x: 4, y: 4, k: 8, blockRows: 4, blockCols: 4 },
];

interface MatmulUniform {
  m: number;
  n: number;
  k: number;
  batch: number;
  a_batch_stride: number;
  b_batch_stride: number;
}

/** Why a tile does not fit the shader or the engine's limits, or null when it does. */
function tileProblem(engine: Engine, t: MatmulTile): string | null {
  const l = engine.limits;
  if (![t.x, t.y, t.k].every((v) => Number.isInteger(v) && v >= 1)) return 'x, y, k positive integers';
  if (![t.blockRows, t.blockCols].every((v) => [4, 8, 12, 16].includes(v))) return 'blockRows, blockCols in 4, 8, 12, 16';
  if (t.x > l.maxComputeWorkgroupSizeX || t.y > l.maxComputeWorkgroupSizeY) {
    return `x <= ${l.maxComputeWorkgroupSizeX}, y <= ${l.maxComputeWorkgroupSizeY}`;
  }
  if (t.x * t.y > l.maxComputeInvocationsPerWorkgroup) return `x·y <= ${l.maxComputeInvocationsPerWorkgroup}`;
  const bytes = 4 * t.k * (t.y * t.blockRows + t.x * t.blockCols);
  if (bytes > l.maxComputeWorkgroupStorageSize) {
    return `4·k·(y·blockRows + x·blockCols) <= ${l.maxComputeWorkgroupStorageSize} bytes of workgroup memory`;
  }
  return null;
}

/** The default tile: MATMUL_SOFTWARE_TILE on software adapters (and the CPU), else MATMUL_GPU_TILE, within the limits. */
export function matmulTile(engine: Engine): MatmulTile {
  const preferred = engine.info.software ? MATMUL_SOFTWARE_TILE : MATMUL_GPU_TILE;
  const tile = [preferred, ...FALLBACK_TILES].find((t) => tileProblem(engine, t) === null);
  if (!tile) throw new ParameterError('matmul tile', describeTile(FALLBACK_TILES[FALLBACK_TILES.length - 1]), 'a device allowing 16 invocations per workgroup');
  return tile;
}

function describeTile(t: MatmulTile): string {
  return `{x: ${t.x}, y: ${t.y}, k: ${t.k}, blockRows: ${t.blockRows}, blockCols: ${t.blockCols}}`;
}

/** The shapes of one product: C[batch] (M x N) = op(A[batch]) (M x K) · op(B[batch]) (K x N). */
export interface MatmulShape {
  batch: number;
  m: number;
  n: number;
  k: number;
  /** 0 when the operand is broadcast over the batch. */
  aBatchStride: number;
  bBatchStride: number;
  outShape: number[];
}

/** Checks operand ranks, inner dimensions and batch sizes; throws a ShapeError naming both shapes. */
export function matmulShape(a: Tensor, b: Tensor, transposeA = false, transposeB = false): MatmulShape {
  const both = () => `a ${a.describe()}${transposeA ? ' (transposed)' : ''} and b ${b.describe()}${transposeB ? ' (transposed)' : ''}`;
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new ShapeError(`matmul: ${both()}: operands must have rank 2 or 3 ([M, K] or [batch, M, K])`);
  }
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  const [m, ka] = transposeA ? [ca, ra] : [ra, ca];
  const [kb, n] = transposeB ? [cb, rb] : [rb, cb];
  if (ka !== kb) throw new ShapeError(`matmul: inner dimensions differ (${ka} vs ${kb}) for ${both()}`);
  const batchA = a.rank === 3 ? a.shape[0] : 1;
  const batchB = b.rank === 3 ? b.shape[0] : 1;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new ShapeError(`matmul: batch sizes ${batchA} and ${batchB} do not broadcast for ${both()}`);
  }
  const batch = batchA === 1 ? batchB : batchA;
  const rank3 = a.rank === 3 || b.rank === 3;
  return {
    batch,
    m,
    n,
    k: ka,
    aBatchStride: batchA === 1 ? 0 : m * ka,
    bBatchStride: batchB === 1 ? 0 : ka * n,
    outShape: rank3 ? [batch, m, n] : [m, n],
  };
}

function checkFlag(name: string, v: unknown): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new ParameterError(name, v, 'true | false');
  return v;
}

export const matmulKernel: KernelSpec = {
  name: 'matmul',
  shader: SHADERS.matmul,
  entryPoint: 'matmul',
  cpu: matmulCpu,
};

/** Floats of transposed copies per operand per call (at least one batch): batches are done in groups that fit. */
const SCRATCH_FLOATS = 2 ** 22;

/**
 * The CPU twin: rows of op(A) and of op(B)ᵀ made contiguous (transposed into shared scratch where they
 * are not), then a register-blocked product over the rows of C, split between threads by runRows.
 */
function matmulCpu({ arrays, uniforms: { mm }, overrides }: CpuLaunch): void {
  const { m, n, k, batch, a_batch_stride, b_batch_stride } = mm as unknown as MatmulUniform;
  const threaded = worthThreads(batch * m * n * k);
  const out = arrays.mat_c as Float32Array;
  const mat_a = threaded ? shareable(arrays.mat_a as Float32Array, 'matmul.a.in') : arrays.mat_a;
  const mat_b = threaded ? shareable(arrays.mat_b as Float32Array, 'matmul.b.in') : arrays.mat_b;
  const mat_c = threaded ? sharedScratch('matmul.c.out', out.length) : out;
  const a = { data: mat_a as Float32Array, stride: a_batch_stride, storedTransposed: overrides.TRANSPOSE_A === 1, rows: m, cols: k, slot: 'matmul.a' };
  const b = { data: mat_b as Float32Array, stride: b_batch_stride, storedTransposed: overrides.TRANSPOSE_B !== 1, rows: n, cols: k, slot: 'matmul.bt' };
  const group = batchesPerGroup(batch, a, b);
  const aBroadcast = a.stride === 0 ? rowMajor(a, 0, 1) : null;
  const bBroadcast = b.stride === 0 ? rowMajor(b, 0, 1) : null;
  for (let b0 = 0; b0 < batch; b0 += group) {
    const b1 = Math.min(batch, b0 + group);
    const aRows = aBroadcast ?? rowMajor(a, b0, b1);
    const btRows = bBroadcast ?? rowMajor(b, b0, b1);
    const product: MatmulRows = {
      a: aRows.data, aOff: aRows.off, aStride: aRows.stride,
      bt: btRows.data, bOff: btRows.off, bStride: btRows.stride,
      c: mat_c as Float32Array, cOff: b0 * m * n, m, n, k,
    };
    runRows(matmulRowsTask, product, (b1 - b0) * m, { work: (b1 - b0) * m * n * k, granule: 2 });
  }
  if (mat_c !== out) out.set(mat_c);
}

/** An operand whose rows x cols matrices (one per batch, or one broadcast when stride is 0) are wanted row-major. */
interface Operand {
  data: Float32Array;
  stride: number;
  /** Stored transposed (cols x rows): rows must be copied out. */
  storedTransposed: boolean;
  rows: number;
  cols: number;
  slot: string;
}

/** Where the row-major matrices of one group of batches are: data[off + batch·stride ..]. */
interface RowMajor {
  data: Float32Array;
  off: number;
  stride: number;
}

function batchesPerGroup(batch: number, ...operands: Operand[]): number {
  const copied = Math.max(...operands.map((o) => (o.storedTransposed && o.stride !== 0 ? o.rows * o.cols : 0)));
  return copied === 0 ? batch : Math.max(1, Math.min(batch, Math.floor(SCRATCH_FLOATS / copied)));
}

/** The operand's matrices for batches [b0, b1): in place, or transposed into its scratch slot. */
function rowMajor(o: Operand, b0: number, b1: number): RowMajor {
  if (!o.storedTransposed) return { data: o.data, off: b0 * o.stride, stride: o.stride };
  const copies = o.stride === 0 ? 1 : b1 - b0;
  const t: Transposes = {
    src: o.data, srcOff: b0 * o.stride, srcStride: o.stride, rows: o.cols, cols: o.rows,
    dst: sharedScratch(o.slot, copies * o.rows * o.cols),
  };
  runRows(transposeTask, t, copies * o.rows, { work: TRANSPOSE_COST * copies * o.rows * o.cols, granule: 32 });
  return { data: t.dst, off: 0, stride: o.stride === 0 ? 0 : o.rows * o.cols };
}

/** Time to move one element through a transpose, in multiply-adds of the product. */
const TRANSPOSE_COST = 16;

/** Copies: dst (cols x rows each, packed) = transposes of the rows x cols matrices at src[srcOff + copy·srcStride]. */
interface Transposes {
  src: Float32Array;
  srcOff: number;
  srcStride: number;
  rows: number;
  cols: number;
  dst: Float32Array;
}

/** Rows [start, end) of the packed transposes, row g being column g % cols of copy g / cols. */
function transposeRows(t: Transposes, start: number, end: number): void {
  for (let g = start; g < end;) {
    const copy = Math.floor(g / t.cols);
    const c0 = g - copy * t.cols;
    const c1 = Math.min(t.cols, c0 + end - g);
    transposeColumns(t.src, t.srcOff + copy * t.srcStride, t.rows, t.cols, c0, c1, t.dst, copy * t.rows * t.cols);
    g += c1 - c0;
  }
}

/** dst[dstOff + c·rows + r] = src[off + r·cols + c] for columns c in [c0, c1), in 32 x 32 blocks. */
function transposeColumns(src: Float32Array, off: number, rows: number, cols: number, c0: number, c1: number, dst: Float32Array, dstOff: number): void {
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows);
    for (let b0 = c0; b0 < c1; b0 += B) {
      const b1 = Math.min(b0 + B, c1);
      for (let r = r0; r < r1; r++) {
        const s = off + r * cols;
        for (let c = b0; c < b1; c++) dst[dstOff + c * rows + r] = src[s + c];
      }
    }
  }
}

const transposeTask = defineRowTask('matmul.transpose', transposeRows, [transposeColumns]);

/** One group of batches: C[cOff + (batch·m + i)·n + j] = Σ_p a[aOff + batch·aStride + i·k + p]·bt[bOff + batch·bStride + j·k + p]. */
interface MatmulRows {
  a: Float32Array;
  aOff: number;
  aStride: number;
  bt: Float32Array;
  bOff: number;
  bStride: number;
  c: Float32Array;
  cOff: number;
  m: number;
  n: number;
  k: number;
}

/** Rows [start, end) of C over a group of batches, row g being row g % m of batch g / m. */
function productOfGroupRows(p: MatmulRows, start: number, end: number): void {
  for (let g = start; g < end;) {
    const batch = Math.floor(g / p.m);
    const i = g - batch * p.m;
    const rows = Math.min(end - g, p.m - i);
    productOfRows(p.a, p.aOff + batch * p.aStride + i * p.k, p.bt, p.bOff + batch * p.bStride, p.c, p.cOff + g * p.n, rows, p.n, p.k);
    g += rows;
  }
}

/**
 * C[i, j] = Σ_k A[i, k]·Bt[j, k] with A (m x k) and Bt (n x k) row-major: every inner loop runs along
 * contiguous k. Blocks of 2 rows x 4 columns keep 8 sums in registers (JS doubles, rounded to f32 on
 * the store); the fringe rows and columns take smaller blocks.
 */
function productOfRows(
  A: Float32Array, aOff: number, Bt: Float32Array, bOff: number, C: Float32Array, cOff: number,
  m: number, n: number, k: number,
): void {
  const n4 = n - (n % 4);
  let i = 0;
  for (; i + 2 <= m; i += 2) {
    const r0 = aOff + i * k, r1 = r0 + k;
    const o0 = cOff + i * n, o1 = o0 + n;
    let j = 0;
    for (; j < n4; j += 4) {
      const s0 = bOff + j * k, s1 = s0 + k, s2 = s1 + k, s3 = s2 + k;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = A[r0 + p], a1 = A[r1 + p];
        const b0 = Bt[s0 + p], b1 = Bt[s1 + p], b2 = Bt[s2 + p], b3 = Bt[s3 + p];
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
      }
      C[o0 + j] = c00; C[o0 + j + 1] = c01; C[o0 + j + 2] = c02; C[o0 + j + 3] = c03;
      C[o1 + j] = c10; C[o1 + j + 1] = c11; C[o1 + j + 2] = c12; C[o1 + j + 3] = c13;
    }
    for (; j < n; j++) {
      const s = bOff + j * k;
      let c0 = 0, c1 = 0;
      for (let p = 0; p < k; p++) {
        const b = Bt[s + p];
        c0 += A[r0 + p] * b;
        c1 += A[r1 + p] * b;
      }
      C[o0 + j] = c0;
      C[o1 + j] = c1;
    }
  }
  if (i < m) productOfLastRow(A, aOff + i * k, Bt, bOff, C, cOff + i * n, n, k);
}

function productOfLastRow(A: Float32Array, r: number, Bt: Float32Array, bOff: number, C: Float32Array, o: number, n: number, k: number): void {
  const n4 = n - (n % 4);
  let j = 0;
  for (; j < n4; j += 4) {
    const s0 = bOff + j * k, s1 = s0 + k, s2 = s1 + k, s3 = s2 + k;
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (let p = 0; p < k; p++) {
      const a = A[r + p];
      c0 += a * Bt[s0 + p]; c1 += a * Bt[s1 + p]; c2 += a * Bt[s2 + p]; c3 += a * Bt[s3 + p];
    }
    C[o + j] = c0; C[o + j + 1] = c1; C[o + j + 2] = c2; C[o + j + 3] = c3;
  }
  for (; j < n; j++) {
    const s = bOff + j * k;
    let c = 0;
    for (let p = 0; p < k; p++) c += A[r + p] * Bt[s + p];
    C[o + j] = c;
  }
}

// Every element of C is the same sum in the same order whichever thread computes its row and whichever
// block (2x4, 2x1, 1x4, 1x1) it falls in, so threaded and single-threaded results are bit-identical.
const matmulRowsTask = defineRowTask('matmul.rows', productOfGroupRows, [productOfRows, productOfLastRow]);

/**
 * C = op(a) · op(b) in f32, op = transpose where asked. a: [M, K] or [B, M, K] ([.., K, M] with
 * transposeA); b: [K, N] or [B, K, N] ([.., N, K] with transposeB). A 2-D operand, or one with batch
 * 1, is broadcast over the other's batch. Result [M, N], or [B, M, N] when either operand is 3-D.
 * K = 0 gives zeros. NaN and Inf propagate through the IEEE products and sums.
 */
export function matmul(engine: Engine, a: Tensor, b: Tensor, options: MatmulOptions = {}, out?: Tensor): Tensor {
  requireDType('matmul a', a, 'f32');
  requireDType('matmul b', b, 'f32');
  const transposeA = checkFlag('matmul transposeA', options.transposeA);
  const transposeB = checkFlag('matmul transposeB', options.transposeB);
  const tile = options.tile ?? matmulTile(engine);
  const problem = tileProblem(engine, tile);
  if (problem) throw new ParameterError('matmul tile', describeTile(tile), problem);
  const s = matmulShape(a, b, transposeA, transposeB);
  if (out === a || out === b) throw new ShapeError(`matmul: out ${out.describe()} cannot be an operand`);
  const c = outputTensor(engine, 'matmul', s.outShape, 'f32', out);
  if (c.size === 0) return c;
  const maxGroups = engine.limits.maxComputeWorkgroupsPerDimension;
  const tilesN = Math.ceil(s.n / (tile.x * tile.blockCols));
  const tilesM = Math.ceil(s.m / (tile.y * tile.blockRows));
  engine.run({
    kernel: matmulKernel,
    bindings: { mat_a: a, mat_b: b, mat_c: c },
    uniforms: {
      mm: { m: s.m, n: s.n, k: s.k, batch: s.batch, a_batch_stride: s.aBatchStride, b_batch_stride: s.bBatchStride },
    },
    overrides: {
      TILE_X: tile.x,
      TILE_Y: tile.y,
      TILE_K: tile.k,
      ROW_QUADS: tile.blockRows / 4,
      COL_QUADS: tile.blockCols / 4,
      TRANSPOSE_A: transposeA ? 1 : 0,
      TRANSPOSE_B: transposeB ? 1 : 0,
    },
    workgroups: [Math.min(tilesN, maxGroups), Math.min(tilesM, maxGroups), Math.min(s.batch, maxGroups)],
  });
  return c;
}
