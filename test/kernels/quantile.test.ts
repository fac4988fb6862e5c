import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { quantileAbs } from '../../src/kernels/quantile.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData, tol } from '../support/compare.js';

const QS = [0, 0.25, 0.5, 0.9, 1];
const ROW_SIZES = [1, 2, 257, 10007];
// The kernel interpolates in f32, the closed form in float64.
const T: Tolerance = { rtol: 1e-6, atol: 0 };

/** |x| sorted in float64 (NaN last), then pos = q·(n-1) and linear interpolation; equal neighbours give themselves. */
function closedForm(row: ArrayLike<number>, q: number): number {
  const v = Array.from(row, Math.abs).sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const frac = pos - lo;
  if (frac === 0 || v[lo] === v[lo + 1]) return v[lo];
  return v[lo] + frac * (v[lo + 1] - v[lo]);
}

/** Rows of a [rows, n] array (or any axis of a shape), as the kernel reads them. */
function rowsOf(data: Float32Array, shape: number[], axis: number): Float32Array[] {
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const rows: Float32Array[] = [];
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) rows.push(Float32Array.from({ length: n }, (_, k) => data[(o * n + k) * inner + c]));
  }
  return rows;
}

/** Three rows of n: continuous values; duplicates and zeros on a coarse grid; negatives with ±Inf. */
function edgeRows(n: number): Float32Array {
  const data = new Float32Array(3 * n);
  data.set(testData(n, n + 1, -3, 3), 0);
  const coarse = testData(n, n + 2, -2, 2);
  for (let i = 0; i < n; i++) data[n + i] = Math.round(coarse[i] * 2) / 2;
  const signed = testData(n, n + 3, -5, 1);
  for (let i = 0; i < n; i++) data[2 * n + i] = i % 97 === 5 ? -Infinity : i % 89 === 7 ? Infinity : signed[i];
  if (n >= 2) data[2 * n + 1] = -Infinity;
  return data;
}

function bitsOf(a: Float32Array | Int32Array | Uint32Array): Uint32Array {
  return new Uint32Array(a.buffer);
}

describeEachBackend('quantile', (engine) => {
  it(`quantileAbs vs sorted closed form, q in {${QS.join(', ')}}, rows of n = ${ROW_SIZES.join(', ')} with duplicates, zeros, negatives, ±Inf (${tol(T)})`, async () => {
    const e = engine();
    for (const n of ROW_SIZES) {
      const data = edgeRows(n);
      const x = e.tensor(data, [3, n]);
      const rows = rowsOf(data, [3, n], 1);
      for (const q of QS) {
        const y = quantileAbs(e, x, q);
        expect(y.shape).toEqual([3]);
        expectClose(await e.read(y), rows.map((r) => closedForm(r, q)), T, `n=${n} q=${q}`);
        y.dispose();
      }
      x.dispose();
    }
  });

  it(`quantileAbs along axis 0 of [1000, 3] and axis 1 of [4, 300, 5], and of a 1-D x (a scalar []) (${tol(T)})`, async () => {
    const e = engine();
    const cases: [number[], number | undefined, number[]][] = [
      [[1000, 3], 0, [3]],
      [[4, 300, 5], 1, [4, 5]],
      [[4, 300, 5], -2, [4, 5]],
      [[777], undefined, []],
    ];
    for (const [shape, axis, outShape] of cases) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = testData(size, size, -10, 10);
      const x = e.tensor(data, shape);
      const ax = axis === undefined ? shape.length - 1 : axis < 0 ? axis + shape.length : axis;
      for (const q of [0.1, 0.5, 0.999]) {
        const y = quantileAbs(e, x, q, { axis });
        expect(y.shape).toEqual(outShape);
        expectClose(await e.read(y), rowsOf(data, shape, ax).map((r) => closedForm(r, q)), T, `[${shape}] axis ${axis} q=${q}`);
      }
    }
  });

  it('quantileAbs: |NaN| sorts above +Inf; ties and Inf neighbours interpolate to themselves (exact)', async () => {
    const e = engine();
    const x = e.tensor([1, NaN, -2, Infinity, 3, -3, 3, 0], [2, 4]);
    const at = async (q: number) => Array.from(await e.read(quantileAbs(e, x, q)));
    expect(await at(0)).toEqual([1, 0]);
    expect(await at(1 / 3)).toEqual([2, 3]);
    expect(await at(2 / 3)).toEqual([Infinity, 3]);
    expect(await at(1)).toEqual([NaN, 3]);
    const half = await at(0.5);
    expect(half[0]).toBe(Infinity);
    expect(half[1]).toBe(3);
    expect((await at(5 / 6))[0]).toBeNaN();
  });

  it('quantileAbs over 8193 rows of n = 5 (more rows than one batch of counts) vs closed form (exact at q = 0.5)', async () => {
    const e = engine();
    const rows = 8193;
    const data = testData(rows * 5, 9, -1, 1);
    const y = await e.read(quantileAbs(e, e.tensor(data, [rows, 5]), 0.5));
    expect(Array.from(y)).toEqual(rowsOf(data, [rows, 5], 1).map((r) => closedForm(r, 0.5)));
  });

  it('quantileAbs is deterministic: two runs are bit-identical ([3, 10007], q = 0.37)', async () => {
    const e = engine();
    const x = e.tensor(edgeRows(10007), [3, 10007]);
    const a = await e.read(quantileAbs(e, x, 0.37));
    const b = await e.read(quantileAbs(e, x, 0.37));
    expect(bitsOf(a)).toEqual(bitsOf(b));
  });

  it('largest size allowed: one row of maxStorageBufferBindingSize/4 elements (capped at 128 MiB) vs closed form (exact)', async () => {
    const e = engine();
    const n = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024) / 4;
    // |x| takes each value 0..65535 equally often (n / 65536 times): sorted v[r] = floor(r / (n / 65536)).
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i & 1 ? -1 : 1) * ((i * 40503) & 0xffff);
    const x = e.tensor(data, [n], 'f32', 'largest');
    const per = n / 65536;
    for (const q of [0.5, 0.9]) {
      const pos = q * (n - 1);
      const lo = Math.floor(pos);
      const vLo = Math.floor(lo / per);
      const vHi = Math.floor((lo + 1) / per);
      const got = (await e.read(quantileAbs(e, x, q)))[0];
      expect(got).toBe(Math.fround(vLo + Math.fround(pos - lo) * (vHi - vLo)));
    }
    x.dispose();
  });

  it('quantileAbs rejects q outside [0, 1] or NaN, empty rows, bad axes and dtypes before any work', () => {
    const e = engine();
    const x = e.tensor([1, 2, 3, 4], [2, 2]);
    for (const q of [-0.1, 1.5, NaN, Infinity]) expect(() => quantileAbs(e, x, q)).toThrow(ParameterError);
    expect(() => quantileAbs(e, x, '0.5' as unknown as number)).toThrow(/quantileAbs q = "0.5" is invalid: expected a number in \[0, 1\]/);
    expect(() => quantileAbs(e, e.zeros([3, 0]), 0.5)).toThrow(ShapeError);
    expect(() => quantileAbs(e, e.zeros([0]), 0.5)).toThrow(/has no values/);
    expect(() => quantileAbs(e, x, 0.5, { axis: 2 })).toThrow(ParameterError);
    expect(() => quantileAbs(e, e.tensor(Int32Array.from([1, 2])), 0.5)).toThrow(/expected f32/);
    expect(() => quantileAbs(e, x, 0.5, {}, e.zeros([3]))).toThrow(/out must be \[2\] f32/);
    expect(quantileAbs(e, e.zeros([0, 4]), 0.5).shape).toEqual([0]);
  });
});
