import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Tensor } from '../../src/engine/tensor.js';
import * as ops from '../../src/kernels/softmax.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, EXACT, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

type Case = { shape: number[]; axis: number };

// Rows of 1, 257 and 1000 (not multiples of the workgroup), a column case (inner = 3), an empty
// batch, and a long row that every lane walks ~400 times.
const CASES: Case[] = [
  { shape: [1, 1], axis: 1 },
  { shape: [3, 257], axis: 1 },
  { shape: [5, 1000], axis: 1 },
  { shape: [2, 7, 3], axis: 1 },
  { shape: [0, 5], axis: 1 },
  { shape: [1, 100003], axis: 1 },
];
const CASE_NAMES = CASES.map((c) => `[${c.shape}]`).join(', ');
// Longer than one workgroup of 256 lanes walks directly (256 * 8192): takes the chunked path.
const LONG_ROW = 2_200_000;

const PROB: Tolerance = { rtol: 1e-5, atol: 1e-7 };
const LOG_PROB: Tolerance = { rtol: 1e-5, atol: 2e-6 };
const ENTROPY: Tolerance = { rtol: 1e-5, atol: 1e-6 };
const ROW_SUM: Tolerance = { rtol: 0, atol: 2e-5 };

const entropyVariants: [string, ops.EntropyOptions, number, number][] = [
  ['nats, eps 0', {}, 0, Math.E],
  ['nats, eps 1e-10 (activation entropy)', { eps: 1e-10 }, 1e-10, Math.E],
  ['bits, eps 1e-10 (target entropy)', { eps: 1e-10, base: 2 }, 1e-10, 2],
];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function split(shape: number[], axis: number): [number, number, number] {
  return [size(shape.slice(0, axis)), shape[axis], size(shape.slice(axis + 1))];
}

/** Applies `f` to every slice along the axis, in float64: f gets the slice and writes the result into it. */
function perSlice(data: ArrayLike<number>, shape: number[], axis: number, f: (v: Float64Array) => void): Float64Array {
  const [outer, len, inner] = split(shape, axis);
  const out = Float64Array.from(data);
  const v = new Float64Array(len);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      for (let j = 0; j < len; j++) v[j] = out[(o * len + j) * inner + k];
      f(v);
      for (let j = 0; j < len; j++) out[(o * len + j) * inner + k] = v[j];
    }
  }
  return out;
}

/** Per-slice reductions in float64 (the axis removed). */
function perSliceReduce(data: ArrayLike<number>, shape: number[], axis: number, f: (v: Float64Array) => number): Float64Array {
  const [outer, len, inner] = split(shape, axis);
  const out = new Float64Array(outer * inner);
  const v = new Float64Array(len);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      for (let j = 0; j < len; j++) v[j] = data[(o * len + j) * inner + k];
      out[o * inner + k] = f(v);
    }
  }
  return out;
}

const s64 = (v: number) => (v >= 0 ? v + 1 : 1 / (1 - v));
const logS64 = (v: number) => (v >= 0 ? Math.log1p(v) : -Math.log1p(-v));

function stablemaxRef(data: ArrayLike<number>, shape: number[], axis: number, log: boolean): Float64Array {
  return perSlice(data, shape, axis, (v) => {
    let sum = 0;
    for (const e of v) sum += s64(e);
    for (let j = 0; j < v.length; j++) v[j] = log ? logS64(v[j]) - Math.log(sum) : s64(v[j]) / sum;
  });
}

function softmaxRef(data: ArrayLike<number>, shape: number[], axis: number, log: boolean): Float64Array {
  return perSlice(data, shape, axis, (v) => {
    let m = -Infinity;
    for (const e of v) m = Math.max(m, e);
    let sum = 0;
    for (const e of v) sum += Math.exp(e - m);
    for (let j = 0; j < v.length; j++) v[j] = log ? v[j] - m - Math.log(sum) : Math.exp(v[j] - m) / sum;
  });
}

function entropyRef(data: ArrayLike<number>, shape: number[], axis: number, eps: number, base: number): Float64Array {
  return perSliceReduce(data, shape, axis, (v) => {
    let h = 0;
    for (const q of v) h -= q === 0 ? 0 : q * Math.log(q + eps);
    return h / Math.log(base);
  });
}

/** tfjs softmax / logSoftmax along any axis (tfjs supports only the last): transpose around it. */
function tfAlongAxis(f: (t: tf.Tensor) => tf.Tensor, data: Float32Array, shape: number[], axis: number): Float32Array {
  return tfValues(() => {
    const t = tf.tensor(data, shape);
    const last = shape.length - 1;
    if (axis === last) return f(t);
    const perm = shape.map((_, d) => d);
    perm[axis] = last;
    perm[last] = axis;
    return tf.transpose(f(tf.transpose(t, perm)), perm);
  }) as Float32Array;
}

/** Random f32 distributions along the axis, with some exact zeros. */
function distributions(shape: number[], axis: number, seed: number): Float32Array {
  const raw = testData(size(shape), seed, 0, 1);
  for (let i = 0; i < raw.length; i += 7) raw[i] = 0;
  const p = perSlice(raw, shape, axis, (v) => {
    let sum = 0;
    for (let j = 0; j < v.length; j++) sum += (v[j] = v[j] ** 3);
    for (let j = 0; j < v.length; j++) v[j] = sum > 0 ? v[j] / sum : 1 / v.length;
  });
  return Float32Array.from(p);
}

function expectRowsSumToOne(values: ArrayLike<number>, c: Case, label: string): void {
  const sums = perSliceReduce(values, c.shape, c.axis, (v) => v.reduce((a, b) => a + b, 0));
  expectClose(sums, new Float64Array(sums.length).fill(1), ROW_SUM, `${label} row sums`);
}

/** The first index where two f32 arrays differ in their bits, or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return Math.min(ua.length, ub.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

async function readOp(e: Engine, op: (t: Tensor) => Tensor, data: Float32Array, shape: number[]): Promise<Float32Array> {
  const x = e.tensor(data, shape);
  const y = op(x);
  const out = (await e.read(y)) as Float32Array;
  x.dispose();
  y.dispose();
  return out;
}

describeEachBackend('softmax', (engine) => {
  const tfCases: [string, typeof ops.softmax, (t: tf.Tensor) => tf.Tensor, Tolerance, boolean][] = [
    ['softmax', ops.softmax, (t) => tf.softmax(t), PROB, true],
    ['logSoftmax', ops.logSoftmax, (t) => tf.logSoftmax(t), LOG_PROB, false],
  ];
  for (const [name, op, ref, t, isProb] of tfCases) {
    it(`${name} vs tfjs on ${CASE_NAMES}, logits in [-10, 10] and [-1e4, 1e4] (${tol(t)})`, async () => {
      const e = engine();
      for (const c of CASES) {
        for (const scale of [10, 1e4]) {
          const data = testData(size(c.shape), size(c.shape) + scale, -scale, scale);
          const got = await readOp(e, (x) => op(e, x, { axis: c.axis }), data, c.shape);
          const label = `${name} [${c.shape}] scale ${scale}`;
          expectClose(got, tfAlongAxis(ref, data, c.shape, c.axis), t, label);
          if (isProb && got.length > 0) expectRowsSumToOne(got, c, label);
        }
      }
    });
  }

  const stableCases: [string, typeof ops.stablemax, boolean, Tolerance][] = [
    ['stablemax', ops.stablemax, false, PROB],
    ['logStablemax', ops.logStablemax, true, LOG_PROB],
  ];
  for (const [name, op, log, t] of stableCases) {
    it(`${name} vs float64 closed form on ${CASE_NAMES}, x in [-20, 20] and [-1e6, 1e6] (${tol(t)})`, async () => {
      const e = engine();
      for (const c of CASES) {
        for (const scale of [20, 1e6]) {
          const data = testData(size(c.shape), size(c.shape) + 3, -scale, scale);
          const got = await readOp(e, (x) => op(e, x, { axis: c.axis }), data, c.shape);
          const label = `${name} [${c.shape}] scale ${scale}`;
          expectClose(got, stablemaxRef(data, c.shape, c.axis, log), t, label);
          if (!log && got.length > 0) expectRowsSumToOne(got, c, label);
        }
      }
    });
  }

  it(`softmax, logSoftmax, entropy along every axis of [2, 7, 3] and axis -1 vs tfjs / float64 (${tol(PROB)}; log ${tol(LOG_PROB)})`, async () => {
    const e = engine();
    const shape = [2, 7, 3];
    const data = testData(42, 9, -5, 5);
    for (const axis of [0, 1, 2, -1]) {
      const a = axis < 0 ? axis + 3 : axis;
      expectClose(await readOp(e, (x) => ops.softmax(e, x, { axis }), data, shape), tfAlongAxis((t) => tf.softmax(t), data, shape, a), PROB, `softmax axis ${axis}`);
      expectClose(await readOp(e, (x) => ops.logSoftmax(e, x, { axis }), data, shape), tfAlongAxis((t) => tf.logSoftmax(t), data, shape, a), LOG_PROB, `logSoftmax axis ${axis}`);
      const p = distributions(shape, a, 5 + a);
      const h = ops.entropy(e, e.tensor(p, shape), { axis });
      expect(h.shape).toEqual(shape.filter((_, d) => d !== a));
      expectClose(await e.read(h), entropyRef(p, shape, a, 0, Math.E), ENTROPY, `entropy axis ${axis}`);
    }
    const def = await readOp(e, (x) => ops.softmax(e, x), data, shape);
    expectClose(def, tfAlongAxis((t) => tf.softmax(t), data, shape, 2), PROB, 'softmax default axis');
  });

  it(`entropy vs float64 closed form on ${CASE_NAMES}: ${entropyVariants.map((v) => v[0]).join('; ')} (${tol(ENTROPY)})`, async () => {
    const e = engine();
    for (const c of CASES) {
      const p = distributions(c.shape, c.axis, size(c.shape) + 1);
      for (const [label, options, eps, base] of entropyVariants) {
        const h = ops.entropy(e, e.tensor(p, c.shape), { axis: c.axis, ...options });
        expect(h.shape).toEqual(c.shape.filter((_, d) => d !== c.axis));
        expectClose(await e.read(h), entropyRef(p, c.shape, c.axis, eps, base), ENTROPY, `entropy [${c.shape}] ${label}`);
      }
    }
  });

  it('entropy closed forms: uniform over n is log n, one-hot is 0, bits of a fair coin is 1, empty axis is 0 (rtol 1e-6)', async () => {
    const e = engine();
    const t: Tolerance = { rtol: 1e-6, atol: 0 };
    for (const n of [1, 2, 255, 257, 4099]) {
      const h = ops.entropy(e, e.tensor(new Float32Array(n).fill(1 / n)));
      expect(h.shape).toEqual([]);
      expectClose(await e.read(h), [Math.log(n)], { rtol: 2e-6, atol: 1e-7 }, `uniform n=${n}`);
    }
    expectClose(await e.read(ops.entropy(e, e.tensor([0.5, 0.5]), { base: 2 })), [1], t, 'fair coin in bits');
    expect(Array.from(await e.read(ops.entropy(e, e.tensor([0, 1, 0, 0], [2, 2]))))).toEqual([0, 0]);
    expect(Array.from(await e.read(ops.entropy(e, e.zeros([3, 0]))))).toEqual([0, 0, 0]);
    const h = ops.entropy(e, e.zeros([2, 0, 3]), { axis: 1 });
    expect(h.shape).toEqual([2, 3]);
    expect(Array.from(await e.read(h))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ops.entropy(e, e.zeros([0, 4])).shape).toEqual([0]);
  });

  it('empty axis and empty batch give empty outputs of the input shape', async () => {
    const e = engine();
    for (const op of [ops.softmax, ops.logSoftmax, ops.stablemax, ops.logStablemax]) {
      for (const shape of [[3, 0], [0, 5], [2, 0, 3]]) {
        const y = op(e, e.zeros(shape), { axis: 1 });
        expect(y.shape).toEqual(shape);
        expect((await e.read(y)).length).toBe(0);
      }
    }
  });

  it('NaN, ±Inf and huge logits, rows and columns: softmax/logSoftmax as tfjs (NaN and +Inf poison only their row; -Inf gets 0 / -Inf)', async () => {
    const e = engine();
    const rows = [
      [1, 2, 3, 4],
      [NaN, 1, 2, 3],
      [1, Infinity, 2, 3],
      [-Infinity, 0, 1, -Infinity],
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [3.4e38, 3.4e38, -3.4e38, 0],
      [5, 5, 5, 5],
      [-3.4e38, -3.4e38, -3e38, -3.4e38],
    ];
    const data = Float32Array.from(rows.flat());
    const shape = [rows.length, 4];
    // Transposed, the same rows become columns of a [4, 8] tensor normalized along axis 0.
    const transposed = tfValues(() => tf.transpose(tf.tensor(data, shape))) as Float32Array;
    for (const [name, op, ref] of [['softmax', ops.softmax, tf.softmax], ['logSoftmax', ops.logSoftmax, tf.logSoftmax]] as const) {
      const expected = tfValues(() => ref(tf.tensor(data, shape))) as Float32Array;
      expectClose(await readOp(e, (x) => op(e, x), data, shape), expected, { rtol: 1e-6, atol: 1e-7 }, `${name} rows`);
      const expectedT = tfValues(() => tf.transpose(tf.tensor(expected, shape))) as Float32Array;
      expectClose(await readOp(e, (x) => op(e, x, { axis: 0 }), transposed, [4, rows.length]), expectedT, { rtol: 1e-6, atol: 1e-7 }, `${name} columns`);
    }
    const sm = await readOp(e, (x) => ops.softmax(e, x), data, shape);
    expect(Array.from(sm.slice(24, 28))).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(sm[12]).toBe(0);
    expect(sm.slice(4, 12).every(Number.isNaN)).toBe(true);
  });

  it('NaN, ±Inf and huge inputs: stablemax/logStablemax poison only their row, -Inf gets 0 / -Inf, no overflow (rtol 1e-5, atol 1e-7)', async () => {
    const e = engine();
    const rows = [
      [1, 2, -3, 0],
      [NaN, 1, 2, 3],
      [1, Infinity, 2, 3],
      [-Infinity, 0, 1, -Infinity],
      [-Infinity, -Infinity, -Infinity, -Infinity],
      [3e38, 3e38, -3e38, 0],
      [-5, -5, -5, -5],
      [-3e38, -1e30, -1, -3e38],
    ];
    const data = Float32Array.from(rows.flat());
    const shape = [rows.length, 4];
    const nanRows = new Set([1, 2, 4]);
    const t: Tolerance = { rtol: 1e-5, atol: 1e-7 };
    for (const [name, op, log] of [['stablemax', ops.stablemax, false], ['logStablemax', ops.logStablemax, true]] as const) {
      const got = await readOp(e, (x) => op(e, x), data, shape);
      const expected = stablemaxRef(data, shape, 1, log);
      rows.forEach((_, r) => { if (nanRows.has(r)) expected.fill(NaN, r * 4, r * 4 + 4); });
      expectClose(got, expected, t, `${name} rows`);
      const transposed = tfValues(() => tf.transpose(tf.tensor(data, shape))) as Float32Array;
      const gotT = await readOp(e, (x) => op(e, x, { axis: 0 }), transposed, [4, rows.length]);
      const back = tfValues(() => tf.transpose(tf.tensor(gotT, [4, rows.length]))) as Float32Array;
      expectClose(back, expected, t, `${name} columns`);
    }
    const lsm = await readOp(e, (x) => ops.logStablemax(e, x), data, shape);
    expect(lsm[12]).toBe(-Infinity);
    expect(lsm[15]).toBe(-Infinity);
    // log s(-3e38) - log(sum) stays finite where s(-3e38) / sum underflows f32.
    expect(lsm[28]).toBeCloseTo(-Math.log1p(3e38) - Math.log(s64(-3e38) * 2 + s64(-1e30) + s64(-1)), 3);
  });

  it('entropy keeps NaN to its own slice, rows and columns (exact elsewhere vs the same data without NaN)', async () => {
    const e = engine();
    const shape = [4, 300];
    const p = distributions(shape, 1, 77);
    const clean = await e.read(ops.entropy(e, e.tensor(p, shape)));
    p[300 + 17] = NaN;
    const h = await e.read(ops.entropy(e, e.tensor(p, shape)));
    expect(Number.isNaN(h[1])).toBe(true);
    expectClose([h[0], h[2], h[3]], [clean[0], clean[2], clean[3]], EXACT, 'other rows');
    const pT = tfValues(() => tf.transpose(tf.tensor(p, shape))) as Float32Array;
    const hT = await e.read(ops.entropy(e, e.tensor(pT, [300, 4]), { axis: 0 }));
    expect(Number.isNaN(hT[1])).toBe(true);
    expectClose([hT[0], hT[2], hT[3]], [clean[0], clean[2], clean[3]], ENTROPY, 'other columns');
  });

  it('deterministic: two runs are bit-identical ([5,1000], [1,100003], [2,7,3] axis 1, entropy)', async () => {
    const e = engine();
    for (const c of [CASES[2], CASES[5], CASES[3]]) {
      const data = testData(size(c.shape), 99, -30, 30);
      for (const op of [ops.softmax, ops.logSoftmax, ops.stablemax, ops.logStablemax]) {
        const a = await readOp(e, (x) => op(e, x, { axis: c.axis }), data, c.shape);
        const b = await readOp(e, (x) => op(e, x, { axis: c.axis }), data, c.shape);
        expect(firstBitDifference(a, b)).toBe(-1);
      }
      const p = distributions(c.shape, c.axis, 4);
      const a = await readOp(e, (x) => ops.entropy(e, x, { axis: c.axis }), p, c.shape);
      const b = await readOp(e, (x) => ops.entropy(e, x, { axis: c.axis }), p, c.shape);
      expect(firstBitDifference(a, b)).toBe(-1);
    }
  });

  it('writes into a given out tensor', async () => {
    const e = engine();
    const data = testData(30, 2, -3, 3);
    const out = e.zeros([3, 10]);
    expect(ops.softmax(e, e.tensor(data, [3, 10]), {}, out)).toBe(out);
    expectClose(await e.read(out), tfValues(() => tf.softmax(tf.tensor(data, [3, 10]))), PROB, 'softmax into out');
    const h = e.zeros([3]);
    expect(ops.entropy(e, out, {}, h)).toBe(h);
    expect((await e.read(h)).every((v) => v > 0)).toBe(true);
  });

  it('rejects bad axis, dtype, eps, base and out before any work (out left untouched)', async () => {
    const e = engine();
    const x = e.tensor(testData(6, 1), [2, 3]);
    const out = e.tensor([7, 7, 7, 7, 7, 7], [2, 3]);
    const hOut = e.tensor([7, 7], [2]);
    for (const op of [ops.softmax, ops.logSoftmax, ops.stablemax, ops.logStablemax]) {
      for (const axis of [2, -3, 0.5, NaN]) {
        expect(() => op(e, x, { axis }, out)).toThrow(ParameterError);
      }
      expect(() => op(e, x, { axis: 2 }, out)).toThrow(/axis = 2 is invalid: expected an integer in \[-2, 1\]/);
      expect(() => op(e, e.tensor(Int32Array.from([1, 2])), {})).toThrow(ShapeError);
      expect(() => op(e, e.tensor(Int32Array.from([1, 2])), {})).toThrow(/expected f32/);
      expect(() => op(e, x, {}, e.zeros([3, 2]))).toThrow(/out must be \[2, 3\] f32/);
      expect(() => op(e, x, {}, x)).toThrow(ShapeError);
    }
    for (const eps of [-1, -1e-30, NaN, Infinity]) {
      expect(() => ops.entropy(e, x, { eps }, hOut)).toThrow(ParameterError);
    }
    expect(() => ops.entropy(e, x, { eps: -1 }, hOut)).toThrow(/entropy eps = -1 is invalid: expected a finite number >= 0/);
    for (const base of [0, -2, 1, NaN, Infinity]) {
      expect(() => ops.entropy(e, x, { base }, hOut)).toThrow(ParameterError);
    }
    expect(() => ops.entropy(e, x, { base: 1 }, hOut)).toThrow(/entropy base = 1 is invalid/);
    expect(() => ops.entropy(e, x, { axis: 2 }, hOut)).toThrow(ParameterError);
    expect(() => ops.entropy(e, x, {}, e.zeros([3]))).toThrow(/out must be \[2\] f32/);
    expect(() => ops.entropy(e, e.tensor(Int32Array.from([1, 2])))).toThrow(/expected f32/);
    expect(Array.from(await e.read(out))).toEqual([7, 7, 7, 7, 7, 7]);
    expect(Array.from(await e.read(hOut))).toEqual([7, 7]);
  });

  it('path per shape: rows up to 256 * 8192, columns up to 8192, chunks beyond (the llvmpipe loop budget)', () => {
    const e = engine();
    const path = (shape: number[], axis?: number) => ops.axisPlan(e, shape, axis).path;
    expect(path([5, 1000])).toBe('rows');
    expect(path([1, 100003])).toBe('rows');
    expect(path([2, 7, 3], 1)).toBe('columns');
    expect(path([8192, 4], 0)).toBe('columns');
    expect(path([8193, 4], 0)).toBe('chunks');
    expect(path([2, 20000, 3], 1)).toBe('chunks');
    expect(path([1, LONG_ROW])).toBe('chunks');
    expect(ops.axisPlan(e, [2, 20000, 3], 1)).toMatchObject({ chunk: 8192, chunks: 3, outer: 2, len: 20000, inner: 3 });
  });

  it(`long axes (chunked path): [2, 20000, 3] axis 1 and [1, ${LONG_ROW}] vs float64 closed forms (${tol(PROB)}; log ${tol(LOG_PROB)}; entropy ${tol(ENTROPY)})`, async () => {
    const e = engine();
    for (const c of [{ shape: [2, 20000, 3], axis: 1 }, { shape: [1, LONG_ROW], axis: 1 }]) {
      const n = size(c.shape);
      const data = testData(n, 31, -8, 8);
      const label = `[${c.shape}]`;
      const sm = await readOp(e, (x) => ops.softmax(e, x, { axis: c.axis }), data, c.shape);
      expectClose(sm, softmaxRef(data, c.shape, c.axis, false), PROB, `softmax ${label}`);
      expectRowsSumToOne(sm, c, `softmax ${label}`);
      expectClose(await readOp(e, (x) => ops.logSoftmax(e, x, { axis: c.axis }), data, c.shape), softmaxRef(data, c.shape, c.axis, true), LOG_PROB, `logSoftmax ${label}`);
      expectClose(await readOp(e, (x) => ops.stablemax(e, x, { axis: c.axis }), data, c.shape), stablemaxRef(data, c.shape, c.axis, false), PROB, `stablemax ${label}`);
      expectClose(await readOp(e, (x) => ops.logStablemax(e, x, { axis: c.axis }), data, c.shape), stablemaxRef(data, c.shape, c.axis, true), LOG_PROB, `logStablemax ${label}`);
      const p = distributions(c.shape, c.axis, 8);
      for (const [name, options, eps, base] of entropyVariants) {
        expectClose(await readOp(e, (x) => ops.entropy(e, x, { axis: c.axis, ...options }), p, c.shape), entropyRef(p, c.shape, c.axis, eps, base), ENTROPY, `entropy ${label} ${name}`);
      }
    }
  });

  it('long axes (chunked path): NaN, +Inf, an all -Inf chunk and an all -Inf slice as tfjs, columns of [20000, 5] (rtol 1e-5, atol 1e-7)', async () => {
    const e = engine();
    const len = 20000, cols = 5;
    const rows = Array.from({ length: cols }, (_, k) => testData(len, 50 + k, -6, 6));
    rows[1][15000] = NaN;
    rows[2].fill(-Infinity, 0, 9000);
    rows[3].fill(-Infinity);
    rows[4][100] = Infinity;
    const data = new Float32Array(len * cols);
    rows.forEach((r, k) => r.forEach((v, j) => { data[j * cols + k] = v; }));
    expect(ops.axisPlan(e, [len, cols], 0).path).toBe('chunks');
    for (const [name, op, ref] of [['softmax', ops.softmax, tf.softmax], ['logSoftmax', ops.logSoftmax, tf.logSoftmax]] as const) {
      const got = await readOp(e, (x) => op(e, x, { axis: 0 }), data, [len, cols]);
      expectClose(got, tfAlongAxis(ref, data, [len, cols], 0), { rtol: 1e-5, atol: 1e-7 }, name);
    }
    const sm = await readOp(e, (x) => ops.softmax(e, x, { axis: 0 }), data, [len, cols]);
    expect(sm[2]).toBe(0);
    expect(Number.isNaN(sm[1]) && Number.isNaN(sm[3]) && Number.isNaN(sm[4]) && !Number.isNaN(sm[0])).toBe(true);
    const st = await readOp(e, (x) => ops.logStablemax(e, x, { axis: 0 }), data, [len, cols]);
    const expected = stablemaxRef(data, [len, cols], 0, true);
    for (let j = 0; j < len; j++) for (const k of [1, 3, 4]) expected[j * cols + k] = NaN;
    expectClose(st, expected, LOG_PROB, 'logStablemax');
  });

  it('largest row allowed: [1, maxStorageBufferBindingSize / 4] (capped at 128 MiB), softmax and entropy vs closed form (rtol 1e-4)', async () => {
    const e = engine();
    const n = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024) / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = i % 3;
    const counts = [0, 1, 2].map((v) => Math.floor((n - v + 2) / 3));
    const z = counts.reduce((a, c, v) => a + c * Math.exp(v), 0);
    const pv = [0, 1, 2].map((v) => Math.exp(v) / z);
    const x = e.tensor(data, [1, n], 'f32', 'largest');
    const y = ops.softmax(e, x);
    x.dispose();
    const out = await e.read(y);
    const t: Tolerance = { rtol: 1e-4, atol: 0 };
    const picks = [0, 1, 2, 12345, n >> 1, n - 2, n - 1];
    expectClose(picks.map((i) => out[i]), picks.map((i) => pv[i % 3]), t, 'largest softmax');
    let sum = 0;
    for (let i = 0; i < n; i++) sum += out[i];
    expect(Math.abs(sum - 1)).toBeLessThan(1e-4);
    const h = ops.entropy(e, y);
    const hExpected = -counts.reduce((a, c, v) => a + c * pv[v] * Math.log(pv[v]), 0);
    expectClose(await e.read(h), [hExpected], t, 'largest entropy');
    y.dispose();
  });
});
