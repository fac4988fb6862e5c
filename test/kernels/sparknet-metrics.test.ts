import { expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { forceLayout } from '../../src/kernels/force-layout.js';
import {
  SPARK_METRICS, type SparkMetrics, type SparkWeights, metricsRecord, readSparknetMetrics, sparknetMetrics,
} from '../../src/kernels/sparknet-metrics.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

const METRICS: Tolerance = { rtol: 1e-5, atol: 1e-6 };

interface Csr {
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  w: Float32Array;
}

interface Inputs {
  n: number;
  dense?: Float32Array;
  csr?: Csr;
  wScale: number;
  m: Float32Array;
  s: Float32Array;
  visits: Uint32Array;
}

/** The metrics of SCIENCE.md §1 in float64. */
function refMetrics(x: Inputs, motion = NaN): SparkMetrics {
  const { n, wScale } = x;
  const values = x.dense ?? x.csr!.w;
  const rowOf = (k: number) => {
    if (x.dense) return Math.floor(k / n);
    let i = 0;
    while (x.csr!.rowPtr[i + 1] <= k) i++;
    return i;
  };
  const colOf = (k: number) => (x.dense ? k % n : x.csr!.colIdx[k]);
  let sum = 0, positive = 0, total = 0, diag = 0;
  for (let k = 0; k < values.length; k++) {
    const v = wScale * values[k];
    sum += v;
    if (v > 0) positive++;
    total += Math.abs(v);
    if (Math.abs(rowOf(k) - colOf(k)) <= 1) diag += Math.abs(v);
  }
  const count = values.length;
  const mean = sum / count;
  let sq = 0;
  for (let k = 0; k < count; k++) sq += (wScale * values[k] - mean) ** 2;
  let mSum = 0, mMax = -Infinity, active = 0, sSum = 0, vSum = 0;
  for (let i = 0; i < n; i++) {
    mSum += x.m[i];
    mMax = Math.max(mMax, x.m[i]);
    if (x.m[i] > 1e-6) active++;
    sSum += x.s[i];
    vSum += x.visits[i];
  }
  let entropy = 0;
  for (let i = 0; i < n; i++) if (x.visits[i] > 0) entropy -= (x.visits[i] / vSum) * Math.log(x.visits[i] / vSum);
  return {
    wMean: mean, wStd: Math.sqrt(sq / count), wPositive: positive / count,
    mMean: mSum / n, mMax: n ? mMax : NaN, mActive: active / n, sMean: sSum / n,
    visitEntropy: entropy, diagonalMass: total > 0 ? diag / total : 0, layoutMotion: motion,
  };
}

function randomInputs(n: number, seed: number, wScale = 0.37, withDense = true): Inputs {
  const dense = withDense ? testData(n * n, seed, -1, 1) : undefined;
  if (dense) for (let k = 0; k < dense.length; k += 5) dense[k] = 0;
  const m = testData(n, seed + 1, -0.2, 2).map((v) => (v < 0 ? 0 : v));
  if (n > 2) {
    m[1] = 5e-7;
    m[2] = 2e-6;
  }
  const visits = Uint32Array.from(testData(n, seed + 2, -3, 40), (v) => Math.max(0, Math.floor(v)));
  return { n, dense, wScale, m, s: testData(n, seed + 3, 0, 1), visits };
}

/** A symmetric neighbour structure: i's neighbours i±1, i±2, i itself every third row, and a far one. */
function randomCsr(n: number, seed: number): Csr {
  const rows: number[][] = Array.from({ length: n }, () => []);
  const link = (i: number, j: number) => {
    if (i < 0 || j < 0 || i >= n || j >= n || rows[i].includes(j)) return;
    rows[i].push(j);
    if (i !== j) rows[j].push(i);
  };
  for (let i = 0; i < n; i++) {
    link(i, i + 1);
    link(i, i + 2);
    if (i % 3 === 0) link(i, i);
    link(i, (i * 7 + 3) % n);
  }
  const rowPtr = new Uint32Array(n + 1);
  const cols: number[] = [];
  rows.forEach((r, i) => {
    r.sort((a, b) => a - b);
    cols.push(...r);
    rowPtr[i + 1] = cols.length;
  });
  const w = testData(cols.length, seed, -1, 1);
  return { rowPtr, colIdx: Uint32Array.from(cols), w };
}

function weightsOf(e: Engine, x: Inputs): SparkWeights {
  if (x.csr) return { kind: 'csr', rowPtr: e.tensor(x.csr.rowPtr), colIdx: e.tensor(x.csr.colIdx), w: e.tensor(x.csr.w), wScale: x.wScale };
  return { kind: 'dense', w: e.tensor(x.dense!, [x.n, x.n]), wScale: x.wScale };
}

async function metricsOf(e: Engine, x: Inputs, weights = weightsOf(e, x), motion?: Tensor): Promise<SparkMetrics> {
  const t = sparknetMetrics(e, { weights, m: e.tensor(x.m), s: e.tensor(x.s), visits: e.tensor(x.visits), motion });
  const r = await readSparknetMetrics(e, t);
  t.dispose();
  return r;
}

function expectMetrics(got: SparkMetrics, expected: SparkMetrics, t: Tolerance, label: string): void {
  expectClose(SPARK_METRICS.map((k) => got[k]), SPARK_METRICS.map((k) => expected[k]), t, `${label} (${SPARK_METRICS.join(', ')})`);
}

describeEachBackend('sparknet metrics', (engine) => {
  const SIZES = [1, 2, 3, 257, 1000];

  it(`dense W, M, s, visits vs float64 on N = ${SIZES.join(', ')} (${tol(METRICS)})`, async () => {
    const e = engine();
    for (const n of SIZES) {
      const x = randomInputs(n, 10 + n);
      expectMetrics(await metricsOf(e, x), refMetrics(x), METRICS, `N=${n}`);
    }
  });

  it('W mean and population std vs tfjs moments on N = 300 (rtol 1e-5, atol 1e-6)', async () => {
    const e = engine();
    const x = randomInputs(300, 7, 1);
    const got = await metricsOf(e, x);
    const moments = tfValues(() => {
      const { mean, variance } = tf.moments(tf.tensor1d(x.dense!));
      return tf.stack([mean, tf.sqrt(variance)]);
    });
    expectClose([got.wMean, got.wStd], moments, METRICS, 'moments');
  });

  it(`CSR W (stored edges only) vs float64 on N = ${SIZES.join(', ')} (${tol(METRICS)})`, async () => {
    const e = engine();
    for (const n of SIZES) {
      const x: Inputs = { ...randomInputs(n, 20 + n, 0.8), dense: undefined, csr: randomCsr(n, 30 + n) };
      expectMetrics(await metricsOf(e, x), refMetrics(x), METRICS, `CSR N=${n}`);
    }
  });

  it('row-block W statistics equal the single tensor ones (blocks in any order; N = 300 and 1000, rtol 2e-6)', async () => {
    const e = engine();
    for (const n of [300, 1000]) {
      const x = randomInputs(n, 40 + n);
      const single = await metricsOf(e, x);
      const cut = [0, 1, 97, 98, n];
      const blocks = [3, 1, 0, 2].map((b) => ({ w: e.tensor(x.dense!.slice(cut[b] * n, cut[b + 1] * n), [cut[b + 1] - cut[b], n]), row0: cut[b] }));
      const flatBlocks = blocks.map((b) => ({ w: b.w.view([b.w.size]), row0: b.row0 }));
      expectMetrics(await metricsOf(e, x, { kind: 'dense', w: blocks, wScale: x.wScale }), single, { rtol: 2e-6, atol: 1e-7 }, `blocks N=${n}`);
      expectMetrics(await metricsOf(e, x, { kind: 'dense', w: flatBlocks, wScale: x.wScale }), single, { rtol: 2e-6, atol: 1e-7 }, `flat blocks N=${n}`);
    }
  });

  it('edge cases: no visits -> entropy 0, one visited neuron -> 0, uniform visits -> log N; zero W -> diagonal mass 0; N = 1; NaN propagates', async () => {
    const e = engine();
    const n = 64;
    const x = randomInputs(n, 50);
    expect((await metricsOf(e, { ...x, visits: new Uint32Array(n) })).visitEntropy).toBe(0);
    const one = new Uint32Array(n);
    one[17] = 123456;
    expect((await metricsOf(e, { ...x, visits: one })).visitEntropy).toBeCloseTo(0, 6);
    const uniform = new Uint32Array(n).fill(9);
    expect((await metricsOf(e, { ...x, visits: uniform })).visitEntropy).toBeCloseTo(Math.log(n), 5);

    const zeros = await metricsOf(e, { ...x, dense: new Float32Array(n * n), m: new Float32Array(n) });
    expectClose([zeros.wMean, zeros.wStd, zeros.wPositive, zeros.diagonalMass, zeros.mMean, zeros.mMax, zeros.mActive], [0, 0, 0, 0, 0, 0, 0], { rtol: 0, atol: 0 }, 'zeros');
    const diagonal = new Float32Array(n * n);
    for (let i = 0; i < n; i++) diagonal[i * n + i] = -0.5;
    expect((await metricsOf(e, { ...x, dense: diagonal })).diagonalMass).toBe(1);

    const single: Inputs = { n: 1, dense: new Float32Array([0.5]), wScale: 0.5, m: new Float32Array([3]), s: new Float32Array([0.25]), visits: new Uint32Array([4]) };
    expectMetrics(await metricsOf(e, single), refMetrics(single), { rtol: 0, atol: 0 }, 'N=1');

    const nan = { ...x, dense: x.dense!.slice(), m: x.m.slice() };
    nan.dense[3 * n + 9] = NaN;
    nan.m[5] = NaN;
    const got = await metricsOf(e, nan);
    for (const k of ['wMean', 'wStd', 'diagonalMass', 'mMean', 'mMax'] as const) expect(got[k], k).toBeNaN();
    const finite = refMetrics({ ...x, dense: nan.dense.map((v) => (Number.isNaN(v) ? -1 : v)), m: nan.m.map((v) => (Number.isNaN(v) ? 0 : v)) });
    expectClose([got.wPositive, got.mActive, got.sMean, got.visitEntropy], [finite.wPositive, finite.mActive, finite.sMean, finite.visitEntropy], METRICS, 'NaN is neither positive nor active');

    const empty = await metricsOf(e, { ...x, dense: undefined, csr: { rowPtr: new Uint32Array(n + 1), colIdx: new Uint32Array(0), w: new Float32Array(0) } });
    expect([empty.wMean, empty.wStd, empty.wPositive]).toEqual([NaN, NaN, NaN]);
    expect(empty.diagonalMass).toBe(0);
    const none = await metricsOf(e, { n: 0, dense: new Float32Array(0), wScale: 1, m: new Float32Array(0), s: new Float32Array(0), visits: new Uint32Array(0) });
    expect(Object.values(none).map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(['NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN', 0, 0, 'NaN']);
  });

  it('W std without cancellation: W = 5 + 1e-3·u (dense N = 1000, CSR N = 1000; std rtol 1e-4) and a constant W (std <= 1e-6)', async () => {
    const e = engine();
    const n = 1000;
    const x = randomInputs(n, 90, 1);
    const shifted = { ...x, dense: testData(n * n, 91, 0, 1e-3).map((v) => 5 + v) };
    const csr = randomCsr(n, 92);
    const shiftedCsr: Inputs = { ...x, dense: undefined, csr: { ...csr, w: csr.w.map((v) => 5 + 1e-3 * v) } };
    for (const [label, inputs] of [['dense', shifted], ['csr', shiftedCsr]] as const) {
      const got = await metricsOf(e, inputs);
      const ref = refMetrics(inputs);
      expectClose([got.wMean, got.wStd], [ref.wMean, ref.wStd], { rtol: 1e-4, atol: 0 }, label);
    }
    const constant = await metricsOf(e, { ...x, dense: new Float32Array(n * n).fill(0.3) });
    expect(constant.wStd).toBeLessThanOrEqual(1e-6);
    expect(constant.wMean).toBeCloseTo(0.3, 6);
  });

  it('layoutMotion is the layout temperature passed in (exactly), NaN without it', async () => {
    const e = engine();
    const n = 40;
    const x = randomInputs(n, 60);
    const layout = forceLayout(e, e.tensor(testData(2 * n, 61), [n, 2]), null);
    const temperature = (await e.read(layout.temperature))[0];
    expect(temperature).toBeGreaterThan(0);
    expect((await metricsOf(e, x, undefined, layout.temperature)).layoutMotion).toBe(temperature);
    expect((await metricsOf(e, x, undefined, e.tensor([2.5], [1, 1]))).layoutMotion).toBe(2.5);
    expect((await metricsOf(e, x)).layoutMotion).toBeNaN();
  });

  it('deterministic: repeated metrics are bit-identical (dense and CSR, N = 1000)', async () => {
    const e = engine();
    const x = randomInputs(1000, 70);
    const c: Inputs = { ...x, dense: undefined, csr: randomCsr(1000, 71) };
    for (const inputs of [x, c]) {
      const weights = weightsOf(e, inputs);
      const a = await metricsOf(e, inputs, weights);
      const b = await metricsOf(e, inputs, weights);
      expect(Object.values(b)).toEqual(Object.values(a));
    }
  });

  it('largest dense W in one binding: N = 5792 (128 MiB), vs float64 (rtol 1e-5, atol 1e-6)', async () => {
    const e = engine();
    const n = Math.floor(Math.sqrt(Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024) / 4));
    const dense = new Float32Array(n * n);
    let s = 12345;
    for (let k = 0; k < dense.length; k++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      dense[k] = (s >>> 8) / 16777216 - 0.4;
    }
    const x: Inputs = { ...randomInputs(n, 80, 0.37, false), dense };
    const w = e.tensor(dense, [n, n], 'f32', 'W');
    expectMetrics(await metricsOf(e, x, { kind: 'dense', w, wScale: x.wScale }), refMetrics(x), METRICS, `N=${n}`);
    w.dispose();
  });

  it('rejects bad arguments before any work', async () => {
    const e = engine();
    const n = 4;
    const m = e.tensor(new Float32Array(n));
    const s = e.tensor(new Float32Array(n));
    const visits = e.tensor(new Uint32Array(n));
    const w = e.tensor(new Float32Array(n * n), [n, n]);
    const weights: SparkWeights = { kind: 'dense', w, wScale: 1 };
    const out = e.tensor(new Float32Array(SPARK_METRICS.length).fill(7));
    const call = (over: Record<string, unknown>, o = out) => () => sparknetMetrics(e, { weights, m, s, visits, ...over } as never, o);
    const bad: [() => unknown, RegExp][] = [
      [call({ m: e.tensor(new Float32Array(4), [2, 2]) }), /M: expected \[N\] f32/],
      [call({ s: e.tensor(new Float32Array(3)) }), /s: expected \[4\] f32/],
      [call({ visits: e.tensor(new Float32Array(4)) }), /visits: expected \[4\] u32/],
      [call({ motion: e.tensor([1, 2]) }), /motion: expected one f32 element/],
      [call({ weights: { kind: 'dense', w: e.tensor(new Float32Array(12), [3, 4]), wScale: 1 } }), /dense W: expected \[4, 4\]/],
      [call({ weights: { kind: 'dense', w, wScale: -1 } }), /wScale = -1 is invalid/],
      [call({ weights: { kind: 'dense', w, wScale: Infinity } }), /wScale = Infinity is invalid/],
      [call({ weights: { kind: 'dense', w: [], wScale: 1 } }), /at least one block/],
      [call({ weights: { kind: 'dense', w: [{ w: e.tensor(new Float32Array(8), [2, 4]), row0: 0 }, { w: e.tensor(new Float32Array(12), [3, 4]), row0: 1 }], wScale: 1 } }), /starts at row 1, expected row 2/],
      [call({ weights: { kind: 'dense', w: [{ w: e.tensor(new Float32Array(6), [2, 3]), row0: 0 }], wScale: 1 } }), /expected \[rows, 4\]/],
      [call({ weights: { kind: 'dense', w: [{ w, row0: 0.5 }], wScale: 1 } }), /row0 = 0.5 is invalid/],
      [call({ weights: { kind: 'csr', rowPtr: e.tensor(new Uint32Array(5)), colIdx: e.tensor(new Uint32Array(3)), w: e.empty([4]), wScale: 1 } }), /CSR w: expected \[3\] f32/],
      [call({ weights: { kind: 'csr', rowPtr: e.tensor(new Float32Array(5)), colIdx: e.tensor(new Uint32Array(3)), w: e.empty([3]), wScale: 1 } }), /CSR rowPtr: expected \[5\] u32/],
      [call({ weights: { kind: 'coo', wScale: 1 } }), /weights.kind = "coo"/],
      [call({}, e.empty([9])), /out must be \[10\] f32/],
      [call({}, m), /must not be an input/],
    ];
    for (const [fn, message] of bad) expect(fn).toThrow(message);
    expect(call({ weights: { kind: 'dense', w, wScale: 0 } })).toThrow(ParameterError);
    expect(call({ s: e.tensor(new Float32Array(3)) })).toThrow(ShapeError);
    expect(Array.from(await e.read(out))).toEqual(new Array(SPARK_METRICS.length).fill(7));
    expect(() => metricsRecord([1, 2])).toThrow(/expected 10 values/);
    for (const t of [m, s, visits, w, out]) t.dispose();
  });
});
