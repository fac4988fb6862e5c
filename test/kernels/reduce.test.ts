import { expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Tensor } from '../../src/engine/tensor.js';
import * as red from '../../src/kernels/reduce.js';
import { describeEachBackend } from '../support/backends.js';
import { EXACT, type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

// Shapes: one element, rows shorter and longer than a workgroup and not multiples of it, and a 3-D
// tensor reduced along each axis (inner > 1 and inner = 1 layouts).
const SHAPES: number[][] = [[1], [257], [4099], [3, 1000], [7, 5, 33]];
const SUM_RTOL = 2e-6;
const SUM_RTOL_TEXT = SUM_RTOL.toExponential();
const VARIANCE: Tolerance = { rtol: 1e-5, atol: 1e-6 };

/** Every axis of the shape, the negative form of the last one, and null (every element). */
function axesOf(shape: number[]): (number | null)[] {
  return [...shape.map((_, i) => i), -1, null];
}

function tfAxis(axis: number | null): number | undefined {
  return axis === null ? undefined : axis;
}

/** |actual - expected| <= rtol·Σ|x| per output (Σ|x| over the elements reduced into it), scaled by 1/n for means. */
function expectSumClose(actual: ArrayLike<number>, expected: ArrayLike<number>, absSum: ArrayLike<number>, rtol: number, label: string): void {
  expectClose(actual, expected, { rtol: 0, atol: Infinity }, label);
  for (let i = 0; i < expected.length; i++) {
    const bound = rtol * absSum[i] + 1e-7 * Math.abs(expected[i]);
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
      expect.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (bound ${bound})`);
    }
  }
}

async function readAndDispose(e: Engine, t: Tensor): Promise<Float32Array | Int32Array | Uint32Array> {
  const v = await e.read(t);
  t.dispose();
  return v;
}

function bits(a: Float32Array | Int32Array | Uint32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

describeEachBackend('reduce', (engine, backend) => {
  it(`sum and mean vs tfjs on ${SHAPES.map((s) => `[${s}]`).join(', ')} along each axis and all (|err| <= ${SUM_RTOL_TEXT}·Σ|x|, /n for mean)`, async () => {
    const e = engine();
    for (const shape of SHAPES) {
      const data = testData(shape.reduce((a, b) => a * b, 1), shape.length * 101 + shape[0], -2, 3);
      const x = e.tensor(data, shape);
      for (const axis of axesOf(shape)) {
        const label = `[${shape}] axis ${axis}`;
        const absSum = tfValues(() => tf.sum(tf.abs(tf.tensor(data, shape)), tfAxis(axis)));
        const n = axis === null ? data.length : shape.at(axis)!;
        const s = red.sum(e, x, { axis });
        expect(s.shape, label).toEqual(axis === null ? [] : shape.filter((_, i) => i !== (axis + shape.length) % shape.length));
        expectSumClose(await readAndDispose(e, s), tfValues(() => tf.sum(tf.tensor(data, shape), tfAxis(axis))), absSum, SUM_RTOL, `sum ${label}`);
        const m = await readAndDispose(e, red.mean(e, x, { axis }));
        const absMean = Array.from(absSum, (v) => v / n);
        expectSumClose(m, tfValues(() => tf.mean(tf.tensor(data, shape), tfAxis(axis))), absMean, SUM_RTOL, `mean ${label}`);
      }
      x.dispose();
    }
  });

  it(`max and min vs tfjs on the same shapes along each axis and all (${tol(EXACT)})`, async () => {
    const e = engine();
    for (const shape of SHAPES) {
      const data = testData(shape.reduce((a, b) => a * b, 1), shape.length * 7 + shape[0], -5, 5);
      const x = e.tensor(data, shape);
      for (const axis of axesOf(shape)) {
        const label = `[${shape}] axis ${axis}`;
        expectClose(await readAndDispose(e, red.max(e, x, { axis })), tfValues(() => tf.max(tf.tensor(data, shape), tfAxis(axis))), EXACT, `max ${label}`);
        expectClose(await readAndDispose(e, red.min(e, x, { axis })), tfValues(() => tf.min(tf.tensor(data, shape), tfAxis(axis))), EXACT, `min ${label}`);
      }
      x.dispose();
    }
  });

  it('argmax and argmin vs tfjs on the same shapes, data full of ties (first index wins, exact)', async () => {
    const e = engine();
    for (const shape of SHAPES) {
      const data = testData(shape.reduce((a, b) => a * b, 1), shape.length * 13 + shape[0], -3, 3).map(Math.round);
      const x = e.tensor(data, shape);
      for (const axis of axesOf(shape)) {
        const label = `[${shape}] axis ${axis}`;
        const ref = (op: 'argMax' | 'argMin') => tfValues(() => (axis === null ? tf[op](tf.reshape(tf.tensor(data, shape), [-1])) : tf[op](tf.tensor(data, shape), axis)));
        const am = red.argmax(e, x, { axis });
        expect(am.dtype).toBe('i32');
        expect(Array.from(await readAndDispose(e, am)), `argmax ${label}`).toEqual(Array.from(ref('argMax')));
        expect(Array.from(await readAndDispose(e, red.argmin(e, x, { axis }))), `argmin ${label}`).toEqual(Array.from(ref('argMin')));
      }
      x.dispose();
    }
  });

  it(`variance vs tf.moments (population) and moments·n/(n-1) (sample) on the same shapes (${tol(VARIANCE)})`, async () => {
    const e = engine();
    for (const shape of SHAPES) {
      const data = testData(shape.reduce((a, b) => a * b, 1), shape.length * 17 + shape[0], -1, 2);
      const x = e.tensor(data, shape);
      for (const axis of axesOf(shape)) {
        const label = `[${shape}] axis ${axis}`;
        const n = axis === null ? data.length : shape.at(axis)!;
        const pop = tfValues(() => tf.moments(tf.tensor(data, shape), tfAxis(axis)).variance);
        expectClose(await readAndDispose(e, red.variance(e, x, { axis })), pop, VARIANCE, `population ${label}`);
        const sample = n > 1 ? pop.map((v) => (v * n) / (n - 1)) : pop.map(() => NaN);
        expectClose(await readAndDispose(e, red.variance(e, x, { axis, sample: true })), sample, VARIANCE, `sample ${label}`);
      }
      x.dispose();
    }
  });

  it('variance is two-pass: 1e4 + U(-1, 1) on n = 4099 and [3, 1000] vs the f64 closed form (rtol 1e-4)', async () => {
    const e = engine();
    for (const shape of [[4099], [3, 1000]]) {
      const data = testData(shape.reduce((a, b) => a * b, 1), 5, -1, 1).map((v) => 1e4 + v);
      const rows = shape.length === 1 ? 1 : shape[0];
      const len = shape.at(-1)!;
      const expected = Array.from({ length: rows }, (_, r) => {
        const row = Array.from(data.subarray(r * len, (r + 1) * len));
        const mu = row.reduce((a, b) => a + b, 0) / len;
        return row.reduce((a, b) => a + (b - mu) ** 2, 0) / len;
      });
      const v = await readAndDispose(e, red.variance(e, e.tensor(data, shape)));
      expectClose(v, expected, { rtol: 1e-4, atol: 0 }, `variance [${shape}]`);
    }
  });

  it('empty axis: sum 0, mean NaN, max -Inf, min +Inf, variance NaN, on [0], [7, 0, 3] axis 1 and [0] with axis null', async () => {
    const e = engine();
    for (const [shape, axis, outShape] of [[[0], -1, []], [[7, 0, 3], 1, [7, 3]], [[0], null, []]] as [number[], number | null, number[]][]) {
      const x = e.tensor(new Float32Array(0), shape);
      const k = outShape.reduce((a, b) => a * b, 1);
      const cases: [string, Tensor, number][] = [
        ['sum', red.sum(e, x, { axis }), 0],
        ['mean', red.mean(e, x, { axis }), NaN],
        ['max', red.max(e, x, { axis }), -Infinity],
        ['min', red.min(e, x, { axis }), Infinity],
        ['variance', red.variance(e, x, { axis }), NaN],
        ['sample variance', red.variance(e, x, { axis, sample: true }), NaN],
      ];
      for (const [op, y, value] of cases) {
        expect(y.shape, `${op} [${shape}]`).toEqual(outShape);
        expect(Array.from(await readAndDispose(e, y)), `${op} [${shape}] axis ${axis}`).toEqual(new Array(k).fill(value));
      }
    }
  });

  it('sample variance of one element is NaN; population variance of one element is 0; empty outputs ([0, 5] along 1) do no work', async () => {
    const e = engine();
    const x = e.tensor([3, -2, 7.5], [3, 1]);
    expect(Array.from(await e.read(red.variance(e, x, { sample: true })))).toEqual([NaN, NaN, NaN]);
    expect(Array.from(await e.read(red.variance(e, x)))).toEqual([0, 0, 0]);
    expect(Array.from(await e.read(red.mean(e, x)))).toEqual([3, -2, 7.5]);
    const empty = e.tensor(new Float32Array(0), [0, 5]);
    for (const y of [red.sum(e, empty), red.argmax(e, empty), red.variance(e, empty, { keepDims: true })]) {
      expect(y.size).toBe(0);
    }
    expect(red.variance(e, empty, { keepDims: true }).shape).toEqual([0, 1]);
  });

  it('keepDims, negative axes, axis null and rank-0 inputs give the right shapes and values (exact)', async () => {
    const e = engine();
    const data = [1, 2, 3, 4, 5, 6];
    const x = e.tensor(data, [2, 3]);
    const cases: [Tensor, number[], number[]][] = [
      [red.sum(e, x, { axis: 0, keepDims: true }), [1, 3], [5, 7, 9]],
      [red.sum(e, x, { axis: -1, keepDims: true }), [2, 1], [6, 15]],
      [red.sum(e, x, { axis: -2 }), [3], [5, 7, 9]],
      [red.sum(e, x), [2], [6, 15]],
      [red.max(e, x, { axis: null }), [], [6]],
      [red.min(e, x, { axis: null, keepDims: true }), [1, 1], [1]],
      [red.argmax(e, x, { axis: null }), [], [5]],
      [red.argmin(e, x, { axis: 0, keepDims: true }), [1, 3], [0, 0, 0]],
      [red.mean(e, e.tensor([4], []), {}), [], [4]],
      [red.argmax(e, e.tensor([4], []), { keepDims: true }), [], [0]],
    ];
    for (const [i, [y, shape, values]] of cases.entries()) {
      expect(y.shape, `case ${i}`).toEqual(shape);
      expect(Array.from(await e.read(y)), `case ${i}`).toEqual(values);
    }
  });

  it('NaN and Inf: sum/mean/variance/max/min give NaN, argmax/argmin the first NaN (rows of 1000 and columns, vs closed form)', async () => {
    const e = engine();
    const len = 1000;
    const nanAt = [[], [700, 300], [0], [len - 1], [129, 130, 131]];
    const data = new Float32Array(nanAt.length * len);
    data.set(testData(data.length, 3));
    nanAt.forEach((positions, r) => positions.forEach((p) => (data[r * len + p] = NaN)));
    const firstNaN = nanAt.map((p) => (p.length ? Math.min(...p) : -1));
    const hasNaN = nanAt.map((p) => p.length > 0);
    const tfRow = (op: (t: tf.Tensor) => tf.Tensor) => tfValues(() => op(tf.tensor(data, [nanAt.length, len])));
    for (const [layout, shape, axis] of [['rows', [nanAt.length, len], 1], ['columns', [len, nanAt.length], 0]] as const) {
      const x = layout === 'rows' ? e.tensor(data, shape) : e.tensor(tfValues(() => tf.transpose(tf.tensor(data, [nanAt.length, len]))) as Float32Array, shape);
      const expectNaN = async (op: string, y: Tensor, finite: ArrayLike<number>) => {
        const v = await readAndDispose(e, y);
        hasNaN.forEach((h, r) => (h ? expect(v[r], `${op} ${layout} ${r}`).toBeNaN() : expect(v[r], `${op} ${layout} ${r}`).toBeCloseTo(finite[r], 3)));
      };
      await expectNaN('sum', red.sum(e, x, { axis }), tfRow((t) => tf.sum(t, 1)));
      await expectNaN('mean', red.mean(e, x, { axis }), tfRow((t) => tf.mean(t, 1)));
      await expectNaN('variance', red.variance(e, x, { axis }), tfRow((t) => tf.moments(t, 1).variance));
      await expectNaN('max', red.max(e, x, { axis }), tfRow((t) => tf.max(t, 1)));
      await expectNaN('min', red.min(e, x, { axis }), tfRow((t) => tf.min(t, 1)));
      for (const [op, fn, ref] of [['argmax', red.argmax, 'argMax'], ['argmin', red.argmin, 'argMin']] as const) {
        const clean = tfRow((t) => tf[ref](t, 1));
        const got = Array.from(await readAndDispose(e, fn(e, x, { axis })));
        expect(got, `${op} ${layout}`).toEqual(firstNaN.map((p, r) => (p >= 0 ? p : clean[r])));
      }
      x.dispose();
    }
    const inf = e.tensor([Infinity, -Infinity, 1, -Infinity, -Infinity, -Infinity, Infinity, Infinity, Infinity], [3, 3]);
    expect(Array.from(await e.read(red.sum(e, inf)))).toEqual([NaN, -Infinity, Infinity]);
    expect(Array.from(await e.read(red.max(e, inf)))).toEqual([Infinity, -Infinity, Infinity]);
    expect(Array.from(await e.read(red.min(e, inf)))).toEqual([-Infinity, -Infinity, Infinity]);
    expect(Array.from(await e.read(red.argmax(e, inf)))).toEqual([0, 0, 0]);
    expect(Array.from(await e.read(red.argmin(e, inf)))).toEqual([1, 0, 0]);
    expect(Array.from(await e.read(red.variance(e, inf)))).toEqual([NaN, NaN, NaN]);
  });

  it('long axes with few outputs (multi-pass on WebGPU): [3, 300001] along 1 and [300001, 3] along 0, ties and NaN across segments (sum |err| <= 1e-5·Σ|x|, max/argmax/argmin exact, variance rtol 1e-4)', async () => {
    const e = engine();
    const n = 300001;
    for (const axis of [1, 0]) {
      const shape = axis === 1 ? [3, n] : [n, 3];
      const at = (r: number, k: number) => (axis === 1 ? r * n + k : k * 3 + r);
      const data = testData(3 * n, 77, -1, 1).map((v) => Math.round(v * 1000) / 8);
      data[at(1, 250007)] = 500;
      data[at(1, 270007)] = 500;
      data[at(2, 290000)] = NaN;
      data[at(2, 295000)] = NaN;
      const x = e.tensor(data, shape);
      if (backend === 'webgpu') expect(red.describeReduction(e, x, { axis })).toMatch(/then/);
      const ref = (fn: (t: tf.Tensor) => tf.Tensor) => Array.from(tfValues(() => fn(tf.tensor(data, shape))));
      const label = `[${shape}] axis ${axis}`;
      const clean = (v: ArrayLike<number>) => [v[0], v[1]];
      const sum = await readAndDispose(e, red.sum(e, x, { axis }));
      expect(sum[2], `sum ${label}`).toBeNaN();
      expectSumClose(clean(sum), clean(ref((t) => tf.sum(t, axis))), clean(ref((t) => tf.sum(tf.abs(t), axis))), 1e-5, `sum ${label}`);
      const maxV = await readAndDispose(e, red.max(e, x, { axis }));
      expect(Array.from(maxV), `max ${label}`).toEqual([...clean(ref((t) => tf.max(t, axis))), NaN]);
      const argmax = Array.from(await readAndDispose(e, red.argmax(e, x, { axis })));
      expect(argmax, `argmax ${label}`).toEqual([ref((t) => tf.argMax(t, axis))[0], 250007, 290000]);
      const argmin = Array.from(await readAndDispose(e, red.argmin(e, x, { axis })));
      expect(argmin, `argmin ${label}`).toEqual([...clean(ref((t) => tf.argMin(t, axis))), 290000]);
      const v = await readAndDispose(e, red.variance(e, x, { axis }));
      expect(v[2], `variance ${label}`).toBeNaN();
      expectClose(clean(v), clean(ref((t) => tf.moments(t, axis).variance)), { rtol: 1e-4, atol: 0 }, `variance ${label}`);
      x.dispose();
    }
  });

  it('determinism: sum, mean, variance, max and argmax twice on 1e6 elements (all, and [64, 15625] along both axes) are bit-identical', async () => {
    const e = engine();
    const data = testData(1_000_000, 42, -10, 10);
    const x = e.tensor(data, [64, 15625]);
    for (const axis of [null, 0, 1]) {
      for (const [name, op] of Object.entries({ sum: red.sum, mean: red.mean, variance: red.variance, max: red.max, argmax: red.argmax })) {
        const a = bits(await readAndDispose(e, op(e, x, { axis })));
        const b = bits(await readAndDispose(e, op(e, x, { axis })));
        expect(a, `${name} axis ${axis}`).toEqual(b);
      }
    }
    x.dispose();
  });

  it('largest size allowed: maxStorageBufferBindingSize/4 elements (capped at 128 MiB) of (i % 3) - 1 with one 7: exact sum, mean, max, argmax, min, argmin', async () => {
    const e = engine();
    const n = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024) / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 3) - 1;
    const peak = n - 5;
    data[peak] = 7;
    let expectedSum = 0;
    for (let i = 0; i < n; i++) expectedSum += data[i];
    const x = e.tensor(data, [n], 'f32', 'largest');
    if (backend === 'webgpu') expect(red.describeReduction(e, x)).toMatch(/then/);
    expect(Array.from(await readAndDispose(e, red.sum(e, x)))).toEqual([expectedSum]);
    expect(Array.from(await readAndDispose(e, red.mean(e, x)))).toEqual([Math.fround(expectedSum / n)]);
    expect(Array.from(await readAndDispose(e, red.max(e, x)))).toEqual([7]);
    expect(Array.from(await readAndDispose(e, red.argmax(e, x)))).toEqual([peak]);
    expect(Array.from(await readAndDispose(e, red.min(e, x)))).toEqual([-1]);
    expect(Array.from(await readAndDispose(e, red.argmin(e, x)))).toEqual([0]);
    x.dispose();
  });

  it('rejects bad axes, non-f32 inputs, bad options, wrong out tensors and argmax/argmin over an empty axis, before any work', async () => {
    const e = engine();
    const x = e.tensor(testData(6), [2, 3]);
    expect(() => red.sum(e, x, { axis: 2 })).toThrow(ParameterError);
    expect(() => red.sum(e, x, { axis: -3 })).toThrow(/sum axis = -3 is invalid: expected an integer in \[-2, 1\]/);
    expect(() => red.mean(e, x, { axis: 0.5 })).toThrow(ParameterError);
    expect(() => red.max(e, x, { keepDims: 1 as unknown as boolean })).toThrow(/keepDims/);
    expect(() => red.variance(e, x, { sample: 'yes' as unknown as boolean })).toThrow(/sample/);
    expect(() => red.sum(e, e.tensor(Int32Array.from([1, 2])))).toThrow(ShapeError);
    expect(() => red.argmax(e, e.tensor(Uint32Array.from([1, 2])))).toThrow(/expected f32/);
    expect(() => red.sum(e, x, {}, e.zeros([3]))).toThrow(/out must be \[2\] f32/);
    expect(() => red.argmax(e, x, {}, e.zeros([2]))).toThrow(/out must be \[2\] i32/);
    const out = e.tensor(Int32Array.from([9, 9, 9]));
    const empty = e.tensor(new Float32Array(0), [3, 0]);
    expect(() => red.argmax(e, empty, {}, out)).toThrow(ParameterError);
    expect(() => red.argmin(e, empty, { axis: 1 }, out)).toThrow(/argmin axis = 1 is invalid: expected an axis of non-zero length/);
    expect(() => red.argmax(e, e.tensor(new Float32Array(0)), { axis: null })).toThrow(/argmax axis = null is invalid/);
    const column = e.tensor([1, 2, 3], [3, 1]);
    expect(() => red.variance(e, column, { keepDims: true }, column)).toThrow(/out cannot be the input/);
    expect(Array.from(await e.read(out))).toEqual([9, 9, 9]);
  });
});
