import { expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { EXACT_MAX_N, LAYOUT_STREAM, defaultGrid, forceLayout, type ForceLayoutOptions } from '../../src/kernels/force-layout.js';
import { randomNormal } from '../../src/kernels/random.js';
import type { SparkWeights } from '../../src/kernels/sparknet-metrics.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData, tol } from '../support/compare.js';

interface RefOptions {
  kRepulsion: number;
  kAttraction: number;
  dt: number;
  epsilon: number;
  maxStep: number;
  sign?: number;
}

const OPTS: RefOptions = { kRepulsion: 0.01, kAttraction: 0.05, dt: 0.1, epsilon: 0.01, maxStep: Infinity };
// One update moves O(1) positions by dt·F: f32 rounding of x and of F's sums.
const UPDATE: Tolerance = { rtol: 1e-5, atol: 2e-6 };
// Grid vs all pairs on 2000 random points (G = 12, near = 1): the far field's point masses.
// Measured on the CPU backend: at most 2.0e-3 (RMS) and 6.2e-3 (max) over the three clouds.
const GRID_RMS_REL = 4e-3;
const GRID_MAX_REL = 1.5e-2;

/** The forces of SCIENCE.md §1 in float64 (w: dense stored weights, row i = weights into i). */
function refForces(x: ArrayLike<number>, w: ArrayLike<number> | null, o: RefOptions): Float64Array {
  const n = x.length / 2;
  const f = new Float64Array(2 * n);
  const eps2 = o.epsilon * o.epsilon;
  let wmax = 0;
  if (w) for (let k = 0; k < w.length; k++) wmax = Math.max(wmax, w[k]);
  for (let i = 0; i < n; i++) {
    let fx = 0, fy = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const dx = x[2 * i] - x[2 * j], dy = x[2 * i + 1] - x[2 * j + 1];
      const r2 = dx * dx + dy * dy + eps2;
      fx += (o.kRepulsion * dx) / r2;
      fy += (o.kRepulsion * dy) / r2;
      if (w && wmax > 0) {
        const a = (o.kAttraction * Math.max(w[i * n + j], 0)) / wmax;
        fx += a * (x[2 * j] - x[2 * i]);
        fy += a * (x[2 * j + 1] - x[2 * i + 1]);
      }
    }
    f[2 * i] = fx;
    f[2 * i + 1] = fy;
  }
  return f;
}

function refStep(start: ArrayLike<number>, f: Float64Array, o: RefOptions): Float64Array {
  const out = new Float64Array(start.length);
  const factor = (o.sign ?? 1) * o.dt;
  for (let i = 0; i < start.length / 2; i++) {
    let dx = factor * f[2 * i], dy = factor * f[2 * i + 1];
    const len = Math.hypot(dx, dy);
    if (len > o.maxStep) {
      dx *= o.maxStep / len;
      dy *= o.maxStep / len;
    }
    out[2 * i] = start[2 * i] + dx;
    out[2 * i + 1] = start[2 * i + 1] + dy;
  }
  return out;
}

function refTemperature(next: ArrayLike<number>, prev: ArrayLike<number>): number {
  let t = 0;
  for (let i = 0; i < prev.length / 2; i++) t += Math.hypot(next[2 * i] - prev[2 * i], next[2 * i + 1] - prev[2 * i + 1]);
  return t;
}

/** Weights with a mix of signs and some exact zeros. */
function denseW(n: number, seed: number): Float32Array {
  const w = testData(n * n, seed, -0.5, 1);
  for (let k = 0; k < w.length; k += 7) w[k] = 0;
  return w;
}

/** The same matrix as CSR over every entry of each row, columns in order. */
function csrOf(e: Engine, w: Float32Array, n: number): SparkWeights {
  const rowPtr = Uint32Array.from({ length: n + 1 }, (_, i) => i * n);
  const colIdx = Uint32Array.from({ length: n * n }, (_, k) => k % n);
  return { kind: 'csr', rowPtr: e.tensor(rowPtr), colIdx: e.tensor(colIdx), w: e.tensor(w), wScale: 0.5 };
}

async function step(e: Engine, x: Float32Array, weights: SparkWeights | null, options: ForceLayoutOptions): Promise<{ next: Float32Array; temperature: number }> {
  const pos = e.tensor(x, [x.length / 2, 2]);
  const r = forceLayout(e, pos, weights, options);
  const next = (await e.read(r.positions)) as Float32Array;
  const temperature = (await e.read(r.temperature))[0];
  pos.dispose();
  r.positions.dispose();
  r.temperature.dispose();
  return { next, temperature };
}

const positionsOf = (n: number, seed: number, spread = 1) => testData(2 * n, seed, -spread, spread);

describeEachBackend('force layout', (engine) => {
  const SIZES = [1, 2, 3, 50, 257];

  it(`one update vs float64 closed form, dense W, N = ${SIZES.join(', ')}, uncapped and maxStep 0.02 (${tol(UPDATE)})`, async () => {
    const e = engine();
    for (const n of SIZES) {
      const x = positionsOf(n, 3 + n);
      const w = denseW(n, 5 + n);
      for (const maxStep of [Infinity, 0.02]) {
        const o = { ...OPTS, maxStep };
        const wt = e.tensor(w, [n, n]);
        const got = await step(e, x, { kind: 'dense', w: wt, wScale: 0.25 }, { ...o, method: 'exact' });
        const expected = refStep(x, refForces(x, w, o), o);
        expectClose(got.next, expected, UPDATE, `N=${n} maxStep=${maxStep}`);
        expectClose([got.temperature], [refTemperature(got.next, x)], { rtol: 1e-5, atol: 1e-7 }, `temperature N=${n}`);
        wt.dispose();
      }
    }
  });

  it('N = 2 without weights: the closed form 2·dt·k_r·r/(r² + ε²) of the temperature (rtol 1e-5)', async () => {
    const e = engine();
    const r = 0.3;
    const o = { kRepulsion: 0.02, dt: 0.5, epsilon: 0.05, maxStep: Infinity };
    const got = await step(e, new Float32Array([0.1, -0.2, 0.1 + r, -0.2]), null, o);
    const push = (o.dt * o.kRepulsion * r) / (r * r + o.epsilon ** 2);
    expectClose(got.next, [0.1 - push, -0.2, 0.1 + r + push, -0.2], { rtol: 1e-5, atol: 1e-7 }, 'positions');
    expectClose([got.temperature], [2 * push], { rtol: 1e-5, atol: 0 }, 'temperature');
    const capped = await step(e, new Float32Array([0.1, -0.2, 0.1 + r, -0.2]), null, { ...o, maxStep: 0.001 });
    expectClose([capped.temperature], [0.002], { rtol: 1e-5, atol: 0 }, 'capped temperature = N·maxStep');
  });

  it('CSR weights and dense row blocks give the dense result (CSR rtol 1e-5; blocks bit-identical), N = 3, 50, 257', async () => {
    const e = engine();
    for (const n of [3, 50, 257]) {
      const x = positionsOf(n, 11 + n);
      const w = denseW(n, 13 + n);
      const dense = await step(e, x, { kind: 'dense', w: e.tensor(w), wScale: 1 }, OPTS);
      const csr = await step(e, x, csrOf(e, w, n), OPTS);
      expectClose(csr.next, refStep(x, refForces(x, w, OPTS), OPTS), UPDATE, `csr N=${n}`);
      const cut = [0, Math.floor(n / 3), Math.floor(n / 3) + 1, n];
      const blocks = [2, 0, 1].map((b) => ({ w: e.tensor(w.slice(cut[b] * n, cut[b + 1] * n), [cut[b + 1] - cut[b], n]), row0: cut[b] }));
      const byBlocks = await step(e, x, { kind: 'dense', w: blocks, wScale: 3 }, OPTS);
      expect(Array.from(byBlocks.next)).toEqual(Array.from(dense.next));
      expect(byBlocks.temperature).toBe(dense.temperature);
    }
  });

  it('no positive weight means no attraction; NaN in W propagates (N = 50)', async () => {
    const e = engine();
    const n = 50;
    const x = positionsOf(n, 21);
    const negative = testData(n * n, 22, -1, 0);
    const got = await step(e, x, { kind: 'dense', w: e.tensor(negative), wScale: 1 }, OPTS);
    expectClose(got.next, refStep(x, refForces(x, null, OPTS), OPTS), UPDATE, 'negative W');
    const withNaN = denseW(n, 23);
    withNaN[5 * n + 7] = NaN;
    const nan = await step(e, x, { kind: 'dense', w: e.tensor(withNaN), wScale: 1 }, OPTS);
    expect(nan.next.every((v) => Number.isNaN(v))).toBe(true);
  });

  it(`'original' formula: x0 ~ N(0, 1) from Philox (stream ${LAYOUT_STREAM}), moved by -dt·F(x0); temperature from the input (${tol(UPDATE)})`, async () => {
    const e = engine();
    for (const n of [1, 50, 257]) {
      const x = positionsOf(n, 31 + n, 5);
      const w = denseW(n, 33 + n);
      const key = { seed: 1234, step: 7 };
      const x0t = randomNormal(e, [n, 2], { ...key, stream: LAYOUT_STREAM });
      const x0 = (await e.read(x0t)) as Float32Array;
      const o = { ...OPTS, maxStep: 0.05 };
      const got = await step(e, x, { kind: 'dense', w: e.tensor(w), wScale: 1 }, { ...o, formula: 'original', ...key });
      const expected = refStep(x0, refForces(x0, w, o), { ...o, sign: -1 });
      expectClose(got.next, expected, UPDATE, `original N=${n}`);
      expectClose([got.temperature], [refTemperature(expected, x)], { rtol: 1e-5, atol: 0 }, `original temperature N=${n}`);
      const other = await step(e, x, null, { formula: 'original', seed: 1234, step: 8 });
      expect(Array.from(other.next)).not.toEqual(Array.from(got.next));
    }
  });

  it('grid with every cell near (near >= G - 1) equals all pairs: N = 1, 2, 3, 257, 2000 (rtol 1e-5, atol 2e-6)', async () => {
    const e = engine();
    for (const n of [1, 2, 3, 257, 2000]) {
      const x = positionsOf(n, 41 + n);
      const o = { ...OPTS, kRepulsion: 1 / Math.max(n, 1), dt: 0.01 };
      const exact = await step(e, x, null, { ...o, method: 'exact' });
      const g = defaultGrid(n);
      const grid = await step(e, x, null, { ...o, method: 'grid', near: g - 1 });
      expectClose(grid.next, exact.next, UPDATE, `N=${n} G=${g}`);
    }
  });

  it(`grid approximation vs exact float64 forces on N = 2000 random points (uniform, Gaussian, four clusters; G = ${defaultGrid(2000)}, near 1): RMS error <= ${GRID_RMS_REL}·RMS|F|, max error <= ${GRID_MAX_REL}·RMS|F|`, async () => {
    const e = engine();
    const n = 2000;
    const clouds: [string, Float32Array][] = [
      ['uniform', positionsOf(n, 51)],
      ['gaussian', await e.read(randomNormal(e, [n, 2], { seed: 52 })) as Float32Array],
      // Neuron i in the square of side 0.6 around corner i % 4 of [-1, 1]^2.
      ['clusters', positionsOf(n, 53, 0.3).map((v, k) => v + ((((k >> 1) % 4) >> (k & 1)) & 1 ? 1 : -1))],
    ];
    for (const [name, x] of clouds) {
      const o = { kRepulsion: 1 / n, kAttraction: 0, dt: 1, epsilon: 0.01, maxStep: Infinity };
      const got = await step(e, x, null, { ...o, method: 'grid' });
      const f = refForces(x, null, o);
      let sq = 0, errSq = 0, errMax = 0;
      for (let i = 0; i < n; i++) {
        const ex = got.next[2 * i] - x[2 * i] - f[2 * i];
        const ey = got.next[2 * i + 1] - x[2 * i + 1] - f[2 * i + 1];
        const err = Math.hypot(ex, ey);
        errSq += err * err;
        errMax = Math.max(errMax, err);
        sq += f[2 * i] ** 2 + f[2 * i + 1] ** 2;
      }
      const rms = Math.sqrt(sq / n);
      const errRms = Math.sqrt(errSq / n);
      expect(errRms / rms, `${name}: RMS error / RMS force`).toBeLessThanOrEqual(GRID_RMS_REL);
      expect(errMax / rms, `${name}: max error / RMS force`).toBeLessThanOrEqual(GRID_MAX_REL);
    }
  });

  it('deterministic: repeated updates are bit-identical (exact, grid, original; N = 2000)', async () => {
    const e = engine();
    const n = 2000;
    const x = positionsOf(n, 61);
    const w = e.tensor(denseW(n, 62), [n, n]);
    for (const o of [{ method: 'exact' }, { method: 'grid' }, { formula: 'original', seed: 3, step: 1 }] as ForceLayoutOptions[]) {
      const a = await step(e, x, { kind: 'dense', w, wScale: 1 }, o);
      const b = await step(e, x, { kind: 'dense', w, wScale: 1 }, o);
      expect(Array.from(b.next)).toEqual(Array.from(a.next));
      expect(b.temperature).toBe(a.temperature);
    }
    w.dispose();
  });

  it(`'auto' sums all pairs up to N = ${EXACT_MAX_N} and uses the grid beyond (N = ${EXACT_MAX_N + 1}); N = 0 gives empty positions and temperature 0`, async () => {
    const e = engine();
    const n = EXACT_MAX_N + 1;
    const x = positionsOf(n, 71, 10);
    const auto = await step(e, x, null, {});
    const grid = await step(e, x, null, { method: 'grid' });
    expect(Array.from(auto.next)).toEqual(Array.from(grid.next));
    const small = positionsOf(300, 72);
    expect(Array.from((await step(e, small, null, {})).next)).toEqual(Array.from((await step(e, small, null, { method: 'exact' })).next));
    const empty = forceLayout(e, e.empty([0, 2]), null);
    expect(empty.positions.shape).toEqual([0, 2]);
    expect(Array.from(await e.read(empty.temperature))).toEqual([0]);
  });

  it('rejects bad arguments before any work', async () => {
    const e = engine();
    const n = 4;
    const pos = e.tensor(positionsOf(n, 81), [n, 2]);
    const sentinel = new Float32Array(2 * n).fill(7);
    const out = e.tensor(sentinel, [n, 2]);
    const w = e.tensor(new Float32Array(n * n), [n, n]);
    const dense = (wScale = 1): SparkWeights => ({ kind: 'dense', w, wScale });
    const bad: [() => unknown, RegExp | typeof ShapeError][] = [
      [() => forceLayout(e, e.tensor(new Float32Array(12), [4, 3]), null, {}, { positions: out }), /expected \[N, 2\] f32/],
      [() => forceLayout(e, e.tensor(new Int32Array(8), [4, 2]), null, {}, { positions: out }), /expected f32/],
      [() => forceLayout(e, pos, { kind: 'dense', w: e.tensor(new Float32Array(15)), wScale: 1 }, {}, { positions: out }), /dense W: expected \[4, 4\]/],
      [() => forceLayout(e, pos, dense(0), {}, { positions: out }), /wScale = 0 is invalid/],
      [() => forceLayout(e, pos, dense(NaN), {}, { positions: out }), /wScale = NaN is invalid/],
      [() => forceLayout(e, pos, { kind: 'dense', w: [{ w: e.tensor(new Float32Array(8), [2, 4]), row0: 1 }], wScale: 1 }, {}, { positions: out }), /starts at row 1, expected row 0/],
      [() => forceLayout(e, pos, { kind: 'dense', w: [{ w: e.tensor(new Float32Array(8), [2, 4]), row0: 0 }], wScale: 1 }, {}, { positions: out }), /cover rows \[0, 2\), expected \[0, 4\)/],
      [() => forceLayout(e, pos, { kind: 'csr', rowPtr: e.tensor(new Uint32Array(4)), colIdx: e.tensor(new Uint32Array(0)), w: e.empty([0]), wScale: 1 }, {}, { positions: out }), /CSR rowPtr: expected \[5\] u32/],
      [() => forceLayout(e, pos, { kind: 'csr', rowPtr: e.tensor(new Uint32Array(5)), colIdx: e.tensor(new Uint32Array(3)), w: e.empty([2]), wScale: 1 }, {}, { positions: out }), /CSR w: expected \[3\] f32/],
      [() => forceLayout(e, pos, { kind: 'sparse', wScale: 1 } as unknown as SparkWeights, {}, { positions: out }), /weights.kind = "sparse"/],
      [() => forceLayout(e, pos, null, { epsilon: 0 }, { positions: out }), /epsilon = 0 is invalid/],
      [() => forceLayout(e, pos, null, { maxStep: -1 }, { positions: out }), /maxStep = -1 is invalid/],
      [() => forceLayout(e, pos, null, { dt: -0.1 }, { positions: out }), /dt = -0.1 is invalid/],
      [() => forceLayout(e, pos, null, { kRepulsion: Infinity }, { positions: out }), /kRepulsion = Infinity is invalid/],
      [() => forceLayout(e, pos, null, { method: 'barnes-hut' as 'grid' }, { positions: out }), /method = "barnes-hut"/],
      [() => forceLayout(e, pos, null, { method: 'grid', grid: 1 }, { positions: out }), /grid = 1 is invalid/],
      [() => forceLayout(e, pos, null, { grid: 257 }, { positions: out }), /grid = 257 is invalid/],
      [() => forceLayout(e, pos, null, { formula: 'fr' as 'original' }, { positions: out }), /formula = "fr"/],
      [() => forceLayout(e, pos, null, { formula: 'original', seed: -1 }, { positions: out }), /seed = -1 is invalid/],
      [() => forceLayout(e, pos, null, {}, { positions: pos }), /must not be the input/],
      [() => forceLayout(e, pos, null, {}, { positions: e.empty([n, 3]) }), /out must be \[4, 2\] f32/],
      [() => forceLayout(e, pos, null, {}, { positions: out, temperature: e.empty([2]) }), /out must be \[\] f32/],
    ];
    for (const [call, message] of bad) expect(call).toThrow(message as RegExp);
    expect(() => forceLayout(e, pos, dense(0), {}, { positions: out })).toThrow(ParameterError);
    expect(() => forceLayout(e, pos, null, {}, { positions: pos })).toThrow(ShapeError);
    expect(Array.from(await e.read(out))).toEqual(Array.from(sentinel));
    const disposed = e.tensor(new Float32Array(8), [4, 2]);
    disposed.dispose();
    expect(() => forceLayout(e, disposed, null)).toThrow(/disposed/);
    for (const t of [pos, out, w] as Tensor[]) t.dispose();
  });
});
