import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { diffuseGraphDense, diffuseGraphSparse, diffuseGrid, memoryDecay, memoryDeposit } from '../../src/kernels/memory-field.js';
import { describeEachBackend } from '../support/backends.js';
import { EXACT, type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

const GRAPH_SIZES = [1, 7, 500, 1031];
// Row sums of up to 1031 f32 terms in different orders, then one division.
const GRAPH: Tolerance = { rtol: 5e-6, atol: 1e-7 };
// Four neighbour differences against tfjs's -4·M_i convolution.
const GRID: Tolerance = { rtol: 1e-6, atol: 1e-7 };

/** One grid step by tfjs: symmetric padding repeats the edge cells, so missing neighbours add nothing. */
function tfGridStep(m: Float32Array, rows: number, cols: number, d: number): Float32Array {
  return tfValues(() => {
    const x = tf.tensor4d(m, [1, rows, cols, 1]);
    const padded = tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
    const laplacian = tf.conv2d(padded, tf.tensor4d([0, 1, 0, 1, -4, 1, 0, 1, 0], [3, 3, 1, 1]), 1, 'valid');
    return tf.add(x, tf.mul(laplacian, d));
  }) as Float32Array;
}

/** M + D·(P·M - M) with P the row-normalised positive part of W; rows without positive weight keep M. */
function tfGraphStep(w: Float32Array, m: Float32Array, d: number): Float32Array {
  const n = m.length;
  return tfValues(() => {
    const wp = tf.relu(tf.tensor2d(w, [n, n]));
    const total = tf.sum(wp, 1, true);
    const mm = tf.tensor2d(m, [n, 1]);
    const mean = tf.div(tf.matMul(wp, mm), total);
    return tf.where(tf.greater(total, 0), tf.add(mm, tf.mul(tf.sub(mean, mm), d)), mm);
  }) as Float32Array;
}

/** Weights in [-0.5, 0.5]; every 7th row (from row 4) all negative, row 2 all zero. */
function graphWeights(n: number, seed: number): Float32Array {
  const w = testData(n * n, seed, -0.5, 0.5);
  for (let i = 4; i < n; i += 7) for (let j = 0; j < n; j++) w[i * n + j] = -Math.abs(w[i * n + j]) - 0.01;
  if (n > 2) w.fill(0, 2 * n, 3 * n);
  return w;
}

/** The nonzero pattern of a dense matrix with every 3rd entry of each row dropped, as CSR. */
function csrOf(dense: Float32Array, n: number): { rowPtr: Uint32Array; colIdx: Uint32Array; values: Float32Array; embedded: Float32Array } {
  const rowPtr = new Uint32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  const embedded = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if ((i + 2 * j) % 3 === 0 || dense[i * n + j] === 0) continue;
      cols.push(j);
      vals.push(dense[i * n + j]);
      embedded[i * n + j] = dense[i * n + j];
    }
    rowPtr[i + 1] = cols.length;
  }
  return { rowPtr, colIdx: Uint32Array.from(cols), values: Float32Array.from(vals), embedded };
}

function total(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum;
}

/** `iterations` grid steps, ping-ponging between two tensors; returns the last result. */
function diffuseGridTimes(e: Engine, m: Tensor, rows: number, cols: number, d: number, iterations: number): Tensor {
  let a = m;
  let b = e.empty([rows * cols]);
  for (let k = 0; k < iterations; k++) {
    const next = diffuseGrid(e, { m: a, mNext: b }, { rows, cols, d });
    b = a;
    a = next;
  }
  return a;
}

describeEachBackend('sparknet memory field', (engine) => {
  it('deposits exact: M_i + f32(count_i · 0.15) for counts 0..6 and 10^6; zero counts keep the bits (-0, NaN), n = 0, 1, 257, 1000', async () => {
    const e = engine();
    for (const n of [0, 1, 257, 1000]) {
      const m = testData(n, n + 1, -2, 2);
      const counts = Uint32Array.from({ length: n }, (_, i) => (i % 11 === 10 ? 1_000_000 : i % 7));
      if (n > 7) {
        m[0] = -0;
        m[7] = NaN;
      }
      const mt = e.tensor(m);
      expect(memoryDeposit(e, mt, e.tensor(counts), 0.15)).toBe(mt);
      const expected = Float32Array.from(m, (v, i) => (counts[i] > 0 ? Math.fround(v + Math.fround(counts[i] * Math.fround(0.15))) : v));
      const got = await e.read(mt);
      expectClose(got, expected, EXACT, `deposit n=${n}`);
      if (n > 7) expect(Object.is(got[0], -0)).toBe(true);
    }
  });

  it('decay: M·0.92 vs tfjs (exact); memDecay = 1 does no work (-0 kept)', async () => {
    const e = engine();
    const m = testData(1001, 3, -5, 5);
    const mt = e.tensor(m);
    expect(memoryDecay(e, mt, 0.92)).toBe(mt);
    expectClose(await e.read(mt), tfValues(() => tf.mul(tf.tensor1d(m), 0.92)), EXACT, 'decay');
    const z = e.tensor([-0, 1]);
    memoryDecay(e, z, 1);
    expect(Object.is((await e.read(z))[0], -0)).toBe(true);
  });

  it('grid diffusion matches the closed-form single step (impulses on 1x1, 1x4, 2x3, 3x3 grids; exact)', async () => {
    const e = engine();
    const cases: [number, number, number[], number, number[]][] = [
      [1, 1, [3], 0.25, [3]],
      [1, 4, [0, 1, 0, 0], 0.25, [0.25, 0.5, 0.25, 0]],
      [2, 3, [1, 0, 0, 0, 0, 0], 0.25, [0.5, 0.25, 0, 0.25, 0, 0]],
      [2, 3, [0, 0, 0, 0, 4, 0], 0.125, [0, 0.5, 0, 0.5, 2.5, 0.5]],
      [3, 3, [0, 0, 0, 0, 1, 0, 0, 0, 0], 0.25, [0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0]],
    ];
    for (const [rows, cols, m, d, expected] of cases) {
      const out = diffuseGrid(e, { m: e.tensor(m) }, { rows, cols, d });
      expectClose(await e.read(out), expected, EXACT, `${rows}x${cols}`);
    }
  });

  it(`grid diffusion vs tfjs (symmetric padding + Laplacian conv2d) on 20x25, 7x3, 1x9, 9x1 random fields, D = 0.25 and 0.1 (${tol(GRID)})`, async () => {
    const e = engine();
    for (const [rows, cols] of [[20, 25], [7, 3], [1, 9], [9, 1]]) {
      for (const d of [0.25, 0.1]) {
        const m = testData(rows * cols, rows * 31 + cols, 0, 2);
        const out = diffuseGrid(e, { m: e.tensor(m) }, { rows, cols, d });
        expectClose(await e.read(out), tfGridStep(m, rows, cols, d), GRID, `${rows}x${cols} D=${d}`);
      }
    }
  });

  it('grid diffusion conserves total memory over 100 iterations on 20x25 and 7x3 (relative 1e-5), while spreading it', async () => {
    const e = engine();
    for (const [rows, cols] of [[20, 25], [7, 3]]) {
      for (const d of [0.25, 0.05]) {
        const m = testData(rows * cols, rows + cols, 0, 1);
        m[3] = 50;
        const out = await e.read(diffuseGridTimes(e, e.tensor(m), rows, cols, d, 100));
        const before = total(m);
        expect(Math.abs(total(out) - before)).toBeLessThanOrEqual(1e-5 * before);
        expect(Math.max(...out)).toBeLessThan(50 / 4);
      }
    }
  });

  it(`weight-graph diffusion, dense, vs tfjs on N = ${GRAPH_SIZES.join(', ')} (rows without positive weight keep M; ${tol(GRAPH)})`, async () => {
    const e = engine();
    for (const n of GRAPH_SIZES) {
      const w = graphWeights(n, n + 17);
      const m = testData(n, n + 19, 0, 2);
      for (const d of [0.3, 1]) {
        const out = diffuseGraphDense(e, { w: e.tensor(w, [n, n]), m: e.tensor(m) }, { d });
        const got = await e.read(out);
        expectClose(got, tfGraphStep(w, m, d), GRAPH, `dense graph N=${n} D=${d}`);
        for (let i = 4; i < n; i += 7) expect(got[i]).toBe(m[i]);
      }
    }
  });

  it(`weight-graph diffusion, CSR, vs the dense step on the same weights embedded, N = ${GRAPH_SIZES.join(', ')} (${tol(GRAPH)})`, async () => {
    const e = engine();
    for (const n of GRAPH_SIZES) {
      const c = csrOf(graphWeights(n, n + 23), n);
      const mt = e.tensor(testData(n, n + 29, 0, 2));
      const sparse = diffuseGraphSparse(e, { rowPtr: e.tensor(c.rowPtr), colIdx: e.tensor(c.colIdx), w: e.tensor(c.values), m: mt }, { d: 0.4 });
      const dense = diffuseGraphDense(e, { w: e.tensor(c.embedded), m: mt }, { d: 0.4 });
      expectClose(await e.read(sparse), await e.read(dense), GRAPH, `sparse graph N=${n}`);
    }
  });

  it('deterministic: two runs are bit-identical (dense graph N = 1031, CSR graph N = 1031, grid 20x25 x 10 steps)', async () => {
    const e = engine();
    const n = 1031;
    const w = e.tensor(graphWeights(n, 41));
    const m = e.tensor(testData(n, 42, 0, 2));
    const a = await e.read(diffuseGraphDense(e, { w, m }, { d: 0.5 }));
    const b = await e.read(diffuseGraphDense(e, { w, m }, { d: 0.5 }));
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = csrOf(graphWeights(n, 43), n);
    const csr = { rowPtr: e.tensor(c.rowPtr), colIdx: e.tensor(c.colIdx), w: e.tensor(c.values), m };
    expect(Array.from(await e.read(diffuseGraphSparse(e, csr, { d: 0.5 })))).toEqual(Array.from(await e.read(diffuseGraphSparse(e, csr, { d: 0.5 }))));
    const g = testData(500, 44, 0, 1);
    const g1 = await e.read(diffuseGridTimes(e, e.tensor(g), 20, 25, 0.2, 10));
    const g2 = await e.read(diffuseGridTimes(e, e.tensor(g), 20, 25, 0.2, 10));
    expect(Array.from(g1)).toEqual(Array.from(g2));
  });

  it('D = 0 returns m itself and launches nothing (mNext keeps its contents); empty fields', async () => {
    const e = engine();
    const m = e.tensor([1, 2, 3, 4, 5, 6]);
    const mNext = e.tensor([9, 9, 9, 9, 9, 9]);
    expect(diffuseGrid(e, { m, mNext }, { rows: 2, cols: 3, d: 0 })).toBe(m);
    expect(diffuseGraphDense(e, { m, mNext, w: e.tensor(testData(36, 1)) }, { d: 0 })).toBe(m);
    const c = csrOf(testData(36, 2), 6);
    expect(diffuseGraphSparse(e, { m, mNext, rowPtr: e.tensor(c.rowPtr), colIdx: e.tensor(c.colIdx), w: e.tensor(c.values) }, { d: 0 })).toBe(m);
    expect(Array.from(await e.read(mNext))).toEqual([9, 9, 9, 9, 9, 9]);
    expect(Array.from(await e.read(m))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(diffuseGrid(e, { m: e.tensor([]) }, { rows: 0, cols: 5, d: 0.1 }).shape).toEqual([0]);
    expect(diffuseGraphDense(e, { m: e.tensor([]), w: e.tensor([]) }, { d: 0.1 }).shape).toEqual([0]);
  });

  it('rejects bad arguments before any work (m and mNext keep their contents)', async () => {
    const e = engine();
    const m = e.tensor([1, 2, 3, 4, 5, 6]);
    const mNext = e.tensor([9, 9, 9, 9, 9, 9]);
    const grid = (o: { rows?: number; cols?: number; d?: number }, t: { m?: Tensor; mNext?: Tensor } = {}) => () =>
      diffuseGrid(e, { m, mNext, ...t }, { rows: 2, cols: 3, d: 0.1, ...o });
    expect(grid({ d: 0.26 })).toThrow(/d = 0.26 is invalid: expected a number in \[0, 0.25\]/);
    expect(grid({ d: -0.01 })).toThrow(ParameterError);
    expect(grid({ d: NaN })).toThrow(ParameterError);
    expect(grid({ rows: 3 })).toThrow(/a 3 x 3 grid needs 9 cells/);
    expect(grid({ cols: 1.5, rows: 4 })).toThrow(/cols = 1.5/);
    expect(grid({ rows: -2, cols: -3 })).toThrow(/rows = -2/);
    expect(grid({}, { m: e.tensor(new Int32Array(6)) })).toThrow(/expected f32/);
    expect(grid({}, { m: e.tensor([1, 2, 3, 4, 5, 6], [2, 3]) })).toThrow(/m: expected shape \[N\]/);
    expect(grid({}, { mNext: e.tensor([1, 2]) })).toThrow(/out must be \[6\] f32/);
    expect(grid({}, { mNext: m })).toThrow(/shares memory/);
    const w = e.tensor(testData(36, 3));
    const graph = (d: number, t: { w?: Tensor; mNext?: Tensor } = {}) => () => diffuseGraphDense(e, { m, mNext, w, ...t }, { d });
    expect(graph(1.01)).toThrow(/d = 1.01 is invalid: expected a number in \[0, 1\]/);
    expect(graph(0.5, { w: e.tensor(testData(30, 3)) })).toThrow(/w: expected shape \[36\] or \[6, 6\]/);
    expect(graph(0.5, { mNext: w })).toThrow(ShapeError);
    const c = csrOf(testData(36, 4), 6);
    const csr = { rowPtr: e.tensor(c.rowPtr), colIdx: e.tensor(c.colIdx), w: e.tensor(c.values) };
    expect(() => diffuseGraphSparse(e, { m: e.tensor([1, 2, 3]), mNext, ...csr }, { d: 0.5 })).toThrow(/m: expected shape \[6\]/);
    expect(() => diffuseGraphSparse(e, { m, mNext, ...csr, w: m }, { d: 0.5 })).toThrow(ShapeError);
    expect(() => diffuseGraphSparse(e, { m, mNext, ...csr }, { d: -1 })).toThrow(ParameterError);
    const counts = e.tensor(new Uint32Array(6).fill(1));
    expect(() => memoryDeposit(e, m, e.tensor([1, 1, 1, 1, 1, 1]), 0.15)).toThrow(/arrivals: expected u32/);
    expect(() => memoryDeposit(e, m, e.tensor(new Uint32Array(5)), 0.15)).toThrow(/arrivals: expected shape \[6\] u32/);
    expect(() => memoryDeposit(e, m, counts, -0.15)).toThrow(/memDeposit = -0.15/);
    expect(() => memoryDeposit(e, m, counts, Infinity)).toThrow(/memDeposit/);
    expect(() => memoryDecay(e, m, 1.5)).toThrow(/memDecay = 1.5 is invalid: expected a number in \[0, 1\]/);
    expect(() => memoryDecay(e, m, NaN)).toThrow(/memDecay/);
    expect(Array.from(await e.read(m))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await e.read(mNext))).toEqual([9, 9, 9, 9, 9, 9]);
  });
});
