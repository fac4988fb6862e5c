import { afterAll, describe, expect, it } from 'vitest';
import { setWorkerPoolSize, startWorkerPool, workerPoolStats } from '../../src/engine/cpu/worker-pool.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { MATMUL_GPU_TILE, type MatmulTile, matmul } from '../../src/kernels/matmul.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

// Error allowed per element: EPS·K·max|a|·max|b| (EPS = 2^-23, f32 epsilon); the f32 sums here
// stay within a tenth of it.
const EPS = 2 ** -23;
const TOL = 'atol 2^-23·K·max|a|·max|b|';

// (M, K, N): empty, single, K = 0 (zeros), vectors, sizes off and on the 64- and 128-wide tiles.
const SIZES: [number, number, number][] = [
  [1, 1, 1], [0, 5, 3], [3, 0, 4], [5, 4, 0], [1, 7, 1], [17, 33, 65], [64, 64, 64], [65, 130, 67],
];
const TRANSPOSES: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];
// x != y and blockRows != blockCols, so that no index mixes up rows and columns unnoticed.
const ODD_TILE: MatmulTile = { x: 4, y: 8, k: 8, blockRows: 8, blockCols: 12 };

function maxAbs(v: Float32Array): number {
  let m = 0;
  for (const x of v) if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
  return m;
}

function tolerance(k: number, a: Float32Array, b: Float32Array): Tolerance {
  return { rtol: 0, atol: EPS * k * maxAbs(a) * maxAbs(b) };
}

/** Operand shapes for C = op(A)·op(B) with an optional batch on each side (null: 2-D). */
function operandShapes(m: number, k: number, n: number, ta: boolean, tb: boolean, batchA: number | null = null, batchB: number | null = null) {
  const a = ta ? [k, m] : [m, k];
  const b = tb ? [n, k] : [k, n];
  return { a: batchA === null ? a : [batchA, ...a], b: batchB === null ? b : [batchB, ...b] };
}

interface Case {
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
  batchA?: number | null;
  batchB?: number | null;
  seed?: number;
}

/** Runs one product on the engine and on tfjs and compares them. */
async function checkAgainstTf(e: Engine, c: Case, tile?: MatmulTile): Promise<void> {
  const shapes = operandShapes(c.m, c.k, c.n, c.ta, c.tb, c.batchA ?? null, c.batchB ?? null);
  const aData = testData(shapes.a.reduce((p, d) => p * d, 1), 3 + (c.seed ?? 0), -2, 2);
  const bData = testData(shapes.b.reduce((p, d) => p * d, 1), 5 + (c.seed ?? 0), -1.5, 1.5);
  const a = e.tensor(aData, shapes.a);
  const b = e.tensor(bData, shapes.b);
  const out = matmul(e, a, b, { transposeA: c.ta, transposeB: c.tb, tile });
  const expected = tfValues(() => tf.matMul(tf.tensor(aData, shapes.a), tf.tensor(bData, shapes.b), c.ta, c.tb));
  const label = `a ${JSON.stringify(shapes.a)} b ${JSON.stringify(shapes.b)} tA=${c.ta} tB=${c.tb}`;
  const batched = shapes.a.length === 3 || shapes.b.length === 3;
  const batch = Math.max(shapes.a.length === 3 ? shapes.a[0] : 1, shapes.b.length === 3 ? shapes.b[0] : 1);
  expect(out.shape, label).toEqual(batched ? [batch, c.m, c.n] : [c.m, c.n]);
  expectClose(await e.read(out), expected, tolerance(c.k, aData, bData), label);
  a.dispose();
  b.dispose();
  out.dispose();
}

const sizeList = SIZES.map(([m, k, n]) => `(${m},${k},${n})`).join(' ');

describeEachBackend('matmul', (engine) => {
  for (const [name, tile] of [['default tile', undefined], ['GPU tile', MATMUL_GPU_TILE], ['odd tile', ODD_TILE]] as const) {
    it(`vs tf.matMul, ${name}, (M,K,N) = ${sizeList}, every transpose (${TOL})`, async () => {
      const e = engine();
      for (const [m, k, n] of SIZES) {
        for (const [ta, tb] of TRANSPOSES) await checkAgainstTf(e, { m, k, n, ta, tb }, tile);
      }
    });
  }

  it(`batched (B,M,K,N) = (3,31,17,29), every transpose, batch on both sides or broadcast (${TOL})`, async () => {
    const e = engine();
    const batches: [number | null, number | null][] = [[3, 3], [null, 3], [3, null], [1, 3], [3, 1], [1, 1]];
    for (const [ta, tb] of TRANSPOSES) {
      for (const [batchA, batchB] of batches) await checkAgainstTf(e, { m: 31, k: 17, n: 29, ta, tb, batchA, batchB });
    }
  });

  it(`512x512x512 vs tf.matMul, plain and both transposed (${TOL})`, async () => {
    const e = engine();
    await checkAgainstTf(e, { m: 512, k: 512, n: 512, ta: false, tb: false, seed: 9 });
    await checkAgainstTf(e, { m: 512, k: 512, n: 512, ta: true, tb: true, seed: 10 });
  });

  it('K = 0 overwrites out with zeros; an empty batch returns an empty result', async () => {
    const e = engine();
    const out = e.tensor(new Float32Array(12).fill(7), [3, 4]);
    matmul(e, e.empty([3, 0]), e.empty([0, 4]), {}, out);
    expect(Array.from(await e.read(out))).toEqual(new Array(12).fill(0));
    const empty = matmul(e, e.empty([0, 3, 2]), e.tensor(testData(8, 1), [2, 4]));
    expect(empty.shape).toEqual([0, 3, 4]);
    expect((await e.read(empty)).length).toBe(0);
  });

  it('NaN and Inf propagate to exactly the rows and columns they touch (matches tfjs)', async () => {
    const e = engine();
    const [m, k, n] = [37, 41, 35];
    for (const [ta, tb] of TRANSPOSES) {
      const shapes = operandShapes(m, k, n, ta, tb);
      const aData = testData(m * k, 21, 0.5, 1.5);
      const bData = testData(k * n, 22, -1, 1);
      aData[ta ? 3 * m + 2 : 2 * k + 3] = NaN; // A[2, 3]
      bData[tb ? 5 * k + 4 : 4 * n + 5] = Infinity; // B[4, 5]
      const out = await e.read(matmul(e, e.tensor(aData, shapes.a), e.tensor(bData, shapes.b), { transposeA: ta, transposeB: tb }));
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          const v = out[i * n + j];
          if (i === 2) expect(Number.isNaN(v), `C[${i}, ${j}]`).toBe(true);
          else if (j === 5) expect(v, `C[${i}, ${j}]`).toBe(Infinity);
          else expect(Number.isFinite(v), `C[${i}, ${j}]`).toBe(true);
        }
      }
      const expected = tfValues(() => tf.matMul(tf.tensor(aData, shapes.a), tf.tensor(bData, shapes.b), ta, tb));
      expectClose(out, expected, tolerance(k, aData, bData), `tA=${ta} tB=${tb}`);
    }
  });

  it('deterministic: two runs are bit-identical (batched 4x65x130x67, both transposes)', async () => {
    const e = engine();
    const a = e.tensor(testData(4 * 65 * 130, 31), [4, 130, 65]);
    const b = e.tensor(testData(4 * 130 * 67, 32), [4, 67, 130]);
    const runs: Uint32Array[] = [];
    for (let r = 0; r < 2; r++) {
      const out = matmul(e, a, b, { transposeA: true, transposeB: true });
      runs.push(new Uint32Array((await e.read(out)).buffer));
      out.dispose();
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  it('grids past 65535 workgroups fold: batch 65537, and N = 262148 in 4-column tiles (exact)', async () => {
    const e = engine();
    const small: MatmulTile = { x: 1, y: 1, k: 4, blockRows: 4, blockCols: 4 };
    const batch = 65537;
    const aData = testData(batch * 2, 41, -4, 4).map(Math.round);
    const a = e.tensor(aData, [batch, 1, 2]);
    const b = e.tensor([1, 2, 3, 4], [2, 2]);
    const out = await e.read(matmul(e, a, b, { tile: small }));
    for (const i of [0, 1, 65534, 65535, 65536]) {
      expect([out[2 * i], out[2 * i + 1]], `batch ${i}`).toEqual([aData[2 * i] + 3 * aData[2 * i + 1], 2 * aData[2 * i] + 4 * aData[2 * i + 1]]);
    }
    const n = 262148;
    const row = testData(n, 42, -4, 4).map(Math.round);
    const wide = await e.read(matmul(e, e.tensor([2], [1, 1]), e.tensor(row, [1, n]), { tile: small }));
    expect(wide[0]).toBe(2 * row[0]);
    expect(wide[n - 1]).toBe(2 * row[n - 1]);
    expect(Array.from(wide).every((v, j) => v === 2 * row[j])).toBe(true);
  });

  it('rejects bad shapes, dtypes, options and outs before any work', async () => {
    const e = engine();
    const out = e.tensor(new Float32Array(18).fill(7), [3, 6]);
    const a = e.tensor(testData(12, 1), [3, 4]);
    const b = e.tensor(testData(30, 2), [5, 6]);
    expect(() => matmul(e, a, b, {}, out)).toThrow(ShapeError);
    expect(() => matmul(e, a, b, {}, out)).toThrow(/inner dimensions differ \(4 vs 5\).*\[3, 4\].*\[5, 6\]/);
    expect(() => matmul(e, a, e.tensor(testData(24, 3), [4, 6]), { transposeB: true })).toThrow(/inner dimensions differ \(4 vs 6\)/);
    expect(() => matmul(e, e.tensor(testData(24, 1), [2, 1, 3, 4]), e.tensor(testData(24, 2), [4, 6]))).toThrow(
      /\[2, 1, 3, 4\].*\[4, 6\].*rank 2 or 3/,
    );
    expect(() => matmul(e, e.tensor(testData(4, 1), [4]), e.tensor(testData(24, 2), [4, 6]))).toThrow(/rank 2 or 3/);
    expect(() => matmul(e, e.tensor(testData(24, 1), [2, 3, 4]), e.tensor(testData(72, 2), [3, 4, 6]))).toThrow(
      /batch sizes 2 and 3 do not broadcast.*\[2, 3, 4\].*\[3, 4, 6\]/,
    );
    expect(() => matmul(e, e.tensor(Int32Array.from({ length: 12 }), [3, 4]), b)).toThrow(/matmul a: expected f32/);
    expect(() => matmul(e, a, e.tensor(Uint32Array.from({ length: 24 }), [4, 6]))).toThrow(/matmul b: expected f32/);
    const good = e.tensor(testData(24, 4), [4, 6]);
    expect(() => matmul(e, a, good, {}, e.zeros([3, 5]))).toThrow(/out must be \[3, 6\] f32/);
    expect(() => matmul(e, a, good, {}, e.zeros([1, 3, 6]))).toThrow(/out must be \[3, 6\] f32/);
    const square = e.tensor(testData(16, 5), [4, 4]);
    expect(() => matmul(e, square, square, {}, square)).toThrow(/cannot be an operand/);
    expect(() => matmul(e, a, good, { transposeA: 1 as unknown as boolean })).toThrow(ParameterError);
    expect(() => matmul(e, a, good, { tile: { ...MATMUL_GPU_TILE, blockRows: 6 } })).toThrow(/blockRows, blockCols in 4, 8, 12, 16/);
    expect(() => matmul(e, a, good, { tile: { ...MATMUL_GPU_TILE, x: 64, y: 64 } })).toThrow(/x·y <= /);
    expect(() => matmul(e, a, good, { tile: { ...MATMUL_GPU_TILE, k: 512 } })).toThrow(/bytes of workgroup memory/);
    expect(Array.from(await e.read(out))).toEqual(new Array(18).fill(7));
  });
});

/** The index of the first element whose bits differ, or -1. */
function firstBitDifference(x: Float32Array, y: Float32Array): number {
  const bx = new Uint32Array(x.buffer, x.byteOffset, x.length);
  const by = new Uint32Array(y.buffer, y.byteOffset, y.length);
  if (bx.length !== by.length) return Math.min(bx.length, by.length);
  return bx.findIndex((v, i) => v !== by[i]);
}

describe('matmul [cpu] threads', () => {
  afterAll(() => setWorkerPoolSize());

  it(`2 workers vs the caller alone: bit-identical on (B,M,K,N) = (3,300,257,301), every transpose, batch on both sides or A broadcast; both vs tf.matMul (${TOL})`, async () => {
    const e = await createEngine({ backend: 'cpu' });
    const cases: Case[] = [];
    for (const [ta, tb] of TRANSPOSES) {
      for (const batchA of [3, null]) cases.push({ m: 300, k: 257, n: 301, ta, tb, batchA, batchB: 3, seed: cases.length });
    }
    const products = cases.map((c) => {
      const shapes = operandShapes(c.m, c.k, c.n, c.ta, c.tb, c.batchA, c.batchB);
      const aData = testData(shapes.a.reduce((p, d) => p * d, 1), 3 + (c.seed ?? 0), -2, 2);
      const bData = testData(shapes.b.reduce((p, d) => p * d, 1), 5 + (c.seed ?? 0), -1.5, 1.5);
      return { c, shapes, aData, bData, a: e.tensor(aData, shapes.a), b: e.tensor(bData, shapes.b) };
    });
    const run = (p: (typeof products)[number]) => e.read(matmul(e, p.a, p.b, { transposeA: p.c.ta, transposeB: p.c.tb })) as Promise<Float32Array>;
    setWorkerPoolSize(0);
    const alone = await Promise.all(products.map(run));
    setWorkerPoolSize(2);
    expect(await startWorkerPool()).toBe(2);
    const chunksBefore = workerPoolStats().chunksByWorkers;
    const threaded = await Promise.all(products.map(run));
    expect(workerPoolStats().chunksByWorkers, 'chunks computed by workers').toBeGreaterThan(chunksBefore);
    products.forEach((p, i) => {
      const label = `a ${JSON.stringify(p.shapes.a)} b ${JSON.stringify(p.shapes.b)} tA=${p.c.ta} tB=${p.c.tb}`;
      expect(firstBitDifference(threaded[i], alone[i]), label).toBe(-1);
      const expected = tfValues(() => tf.matMul(tf.tensor(p.aData, p.shapes.a), tf.tensor(p.bData, p.shapes.b), p.c.ta, p.c.tb));
      expectClose(threaded[i], expected, tolerance(p.c.k, p.aData, p.bData), label);
    });
    e.dispose();
  });
});
