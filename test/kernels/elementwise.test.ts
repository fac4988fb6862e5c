import { expect, it } from 'vitest';
import { AllocationError, ShapeError } from '../../src/engine/errors.js';
import * as ops from '../../src/kernels/elementwise.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

// Sizes: empty, one element, below and above the 256-wide workgroup, and not a multiple of it.
const SIZES = [0, 1, 255, 257, 1000, 4099];
const TRANSCENDENTAL: Tolerance = { rtol: 2e-6, atol: 1e-6 };
const ROUNDED: Tolerance = { rtol: 1e-6, atol: 0 };

const unaryCases: [ops.UnaryOp, (x: tf.Tensor) => tf.Tensor, Tolerance, [number, number]][] = [
  ['neg', (x) => tf.neg(x), ROUNDED, [-5, 5]],
  ['abs', (x) => tf.abs(x), ROUNDED, [-5, 5]],
  ['exp', (x) => tf.exp(x), TRANSCENDENTAL, [-20, 20]],
  ['log', (x) => tf.log(x), TRANSCENDENTAL, [1e-3, 100]],
  ['sqrt', (x) => tf.sqrt(x), ROUNDED, [0, 100]],
  ['sigmoid', (x) => tf.sigmoid(x), TRANSCENDENTAL, [-30, 30]],
  ['relu', (x) => tf.relu(x), ROUNDED, [-5, 5]],
  ['tanh', (x) => tf.tanh(x), { rtol: 1e-5, atol: 1e-6 }, [-12, 12]],
  ['square', (x) => tf.square(x), ROUNDED, [-100, 100]],
];

const binaryCases: [ops.BinaryOp, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, Tolerance][] = [
  ['add', (a, b) => tf.add(a, b), ROUNDED],
  ['sub', (a, b) => tf.sub(a, b), ROUNDED],
  ['mul', (a, b) => tf.mul(a, b), ROUNDED],
  ['div', (a, b) => tf.div(a, b), ROUNDED],
  ['max', (a, b) => tf.maximum(a, b), ROUNDED],
  ['min', (a, b) => tf.minimum(a, b), ROUNDED],
  ['pow', (a, b) => tf.pow(a, b), { rtol: 1e-5, atol: 1e-6 }],
];

describeEachBackend('elementwise', (engine, backend) => {
  for (const [op, ref, t, [lo, hi]] of unaryCases) {
    it(`${op} vs tfjs on n = ${SIZES.join(', ')} (${tol(t)})`, async () => {
      const e = engine();
      for (const n of SIZES) {
        const data = testData(n, n + 7, lo, hi);
        const x = e.tensor(data);
        const y = ops.unary(e, op, x);
        expectClose(await e.read(y), tfValues(() => ref(tf.tensor1d(data))), t, `${op} n=${n}`);
        x.dispose();
        y.dispose();
      }
    });
  }

  it('unary ops on edge values: NaN, ±Inf, ±0 (matches tfjs)', async () => {
    const e = engine();
    const data = new Float32Array([NaN, Infinity, -Infinity, 0, -0, 1e-45, 3.4e38, -3.4e38]);
    for (const [op, ref] of unaryCases) {
      if (op === 'log' || op === 'sqrt') continue; // negative inputs: NaN both sides, checked below
      const y = ops.unary(e, op, e.tensor(data));
      expectClose(await e.read(y), tfValues(() => ref(tf.tensor1d(data))), { rtol: 1e-5, atol: 1e-6 }, op);
    }
    const lg = await e.read(ops.log(e, e.tensor([-1, 0, 1, NaN])));
    expect(Array.from(lg)).toEqual([NaN, -Infinity, 0, NaN]);
  });

  it('clamp and affine vs tfjs, NaN kept (rounded exactly)', async () => {
    const e = engine();
    const data = new Float32Array([...testData(1001, 3, -3, 3), NaN, 0.1, -0.1]);
    const x = e.tensor(data);
    expectClose(await e.read(ops.clamp(e, x, -0.1, 0.1)), tfValues(() => tf.clipByValue(tf.tensor1d(data), -0.1, 0.1)), ROUNDED, 'clamp');
    expectClose(await e.read(ops.affine(e, x, 2.5, -1)), tfValues(() => tf.add(tf.mul(tf.tensor1d(data), 2.5), -1)), ROUNDED, 'affine');
    expect(() => ops.clamp(e, x, 1, -1)).toThrow(/lo <= hi/);
  });

  it('in place: out = x overwrites x', async () => {
    const e = engine();
    const data = testData(777, 5, -4, 4);
    const x = e.tensor(data);
    const y = ops.relu(e, x, x);
    expect(y).toBe(x);
    expectClose(await e.read(x), tfValues(() => tf.relu(tf.tensor1d(data))), ROUNDED, 'relu in place');
  });

  for (const [op, ref, t] of binaryCases) {
    it(`${op} vs tfjs, same shapes n = ${SIZES.join(', ')} and broadcast [3,1,5]x[4,1] (${tol(t)})`, async () => {
      const e = engine();
      const [lo, hi] = op === 'pow' ? [0.1, 3] : [-4, 4];
      for (const n of SIZES) {
        const a = testData(n, 11 + n, lo, hi);
        const b = testData(n, 13 + n, lo, hi);
        const out = ops.binary(e, op, e.tensor(a), e.tensor(b));
        expectClose(await e.read(out), tfValues(() => ref(tf.tensor1d(a), tf.tensor1d(b))), t, `${op} n=${n}`);
      }
      const a = testData(15, 21, lo, hi);
      const b = testData(4, 22, lo, hi);
      const out = ops.binary(e, op, e.tensor(a, [3, 1, 5]), e.tensor(b, [4, 1]));
      expect(out.shape).toEqual([3, 4, 5]);
      expectClose(await e.read(out), tfValues(() => ref(tf.tensor(a, [3, 1, 5]), tf.tensor(b, [4, 1]))), t, `${op} broadcast`);
      const s = ops.binary(e, op, e.tensor(a, [3, 5]), e.tensor([1.5], []));
      expectClose(await e.read(s), tfValues(() => ref(tf.tensor(a, [3, 5]), tf.scalar(1.5))), t, `${op} scalar`);
    });
  }

  it('binary ops propagate NaN and Inf as tfjs does (max/min: NaN wins)', async () => {
    const e = engine();
    const a = new Float32Array([NaN, 1, Infinity, -Infinity, 0, -0, 2]);
    const b = new Float32Array([1, NaN, Infinity, Infinity, 0, 0, 0]);
    for (const [op, ref] of binaryCases) {
      if (op === 'pow') continue;
      const out = ops.binary(e, op, e.tensor(a), e.tensor(b));
      expectClose(await e.read(out), tfValues(() => ref(tf.tensor1d(a), tf.tensor1d(b))), ROUNDED, op);
    }
  });

  it('where vs tfjs with broadcasting of condition, a and b (exact)', async () => {
    const e = engine();
    const cond = Uint32Array.from({ length: 12 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const a = testData(4, 1);
    const b = testData(3, 2);
    const out = ops.where(e, e.tensor(cond, [3, 4]), e.tensor(a, [1, 4]), e.tensor(b, [3, 1]));
    const expected = tfValues(() => tf.where(tf.tensor(Array.from(cond), [3, 4], 'bool'), tf.broadcastTo(tf.tensor(a, [1, 4]), [3, 4]), tf.broadcastTo(tf.tensor(b, [3, 1]), [3, 4])));
    expectClose(await e.read(out), expected, { rtol: 0, atol: 0 }, 'where');
    const i32 = ops.where(e, e.tensor(Int32Array.from([0, -1, 2]), [3]), e.tensor([1, 2, 3]), e.tensor([4, 5, 6]));
    expect(Array.from(await e.read(i32))).toEqual([4, 2, 3]);
  });

  it('rejects bad shapes and dtypes before any work', () => {
    const e = engine();
    expect(() => ops.add(e, e.tensor([1, 2, 3]), e.tensor([1, 2]))).toThrow(ShapeError);
    expect(() => ops.add(e, e.tensor([1, 2, 3]), e.tensor([1, 2]))).toThrow(/\[3\] and \[2\] do not broadcast/);
    expect(() => ops.exp(e, e.tensor(Int32Array.from([1])))).toThrow(/expected f32/);
    expect(() => ops.exp(e, e.tensor([1, 2]), e.zeros([3]))).toThrow(/out must be \[2\] f32/);
  });

  it('largest size allowed: maxStorageBufferBindingSize (capped at 128 MiB), folded 2-D dispatch', async () => {
    const e = engine();
    const bytes = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024);
    const n = bytes / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) data[i] = (i % 1000) - 500;
    data[n - 1] = -3;
    const x = e.tensor(data, [n], 'f32', 'largest');
    const y = ops.affine(e, x, 2, 1);
    const out = await e.read(y);
    for (let i = 0; i < n; i += 4099) expect(out[i]).toBe(data[i] * 2 + 1);
    expect(out[1]).toBe(1);
    expect(out[n - 1]).toBe(-5);
    x.dispose();
    y.dispose();
    expect(() => e.empty([e.limits.maxStorageBufferBindingSize / 4 + 1], 'f32', 'too-big')).toThrow(AllocationError);
    expect(() => e.empty([e.limits.maxStorageBufferBindingSize / 4 + 1], 'f32', 'too-big')).toThrow(
      backend === 'webgpu' ? /tensor 'too-big'.*exceeds the device's maxStorageBufferBindingSize/ : /tensor 'too-big'.*exceeds/,
    );
  });
});
