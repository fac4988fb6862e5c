import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { cumsum } from '../../src/kernels/scan.js';
import { describeEachBackend } from '../support/backends.js';
import { testData } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

// Sizes: empty, one element, below and above a 256-wide workgroup, within one block (4096), 25 blocks
// (their totals scanned serially) and 74 blocks (their totals scanned block-wise: three levels).
// Rows up to 64 long take the serial path.
const SIZES = [0, 1, 255, 257, 1000, 100003, 300007];
const FLAGS = [
  { exclusive: false, reverse: false },
  { exclusive: true, reverse: false },
  { exclusive: false, reverse: true },
  { exclusive: true, reverse: true },
];
// Error bound relative to the running sum of |x| (the f32 scan adds in another order than tfjs).
const RTOL = 1e-5;
const ATOL = 1e-6;

/** sum of |x| along the axis up to and including each position, in scan order, in float64. */
function runningAbsSum(data: Float32Array, shape: number[], axis: number, reverse: boolean): Float64Array {
  const len = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = data.length / Math.max(len * inner, 1);
  const out = new Float64Array(data.length);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < inner; c++) {
      let acc = 0;
      for (let j = 0; j < len; j++) {
        const k = reverse ? len - 1 - j : j;
        const i = (o * len + k) * inner + c;
        acc += Math.abs(data[i]);
        out[i] = acc;
      }
    }
  }
  return out;
}

function expectScanClose(actual: ArrayLike<number>, expected: ArrayLike<number>, scale: Float64Array, label: string): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const bound = ATOL + RTOL * scale[i];
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
      expect.fail(`${label}[${i}]: got ${actual[i]}, expected ${expected[i]} (bound ${bound})`);
    }
  }
}

function flagLabel(f: { exclusive: boolean; reverse: boolean }): string {
  return `${f.exclusive ? 'exclusive' : 'inclusive'}${f.reverse ? ' reverse' : ''}`;
}

function bitsOf(a: ArrayLike<number> & { buffer: ArrayBufferLike }): Uint32Array {
  return new Uint32Array(a.buffer);
}

/** Wrapping integer cumsum of a 1-D array (i32 when signed, else u32), closed form. */
function wrappingCumsum(data: ArrayLike<number>, signed: boolean, exclusive = false, reverse = false): number[] {
  const n = data.length;
  const out = new Array<number>(n);
  let acc = 0;
  for (let j = 0; j < n; j++) {
    const k = reverse ? n - 1 - j : j;
    if (exclusive) out[k] = signed ? acc | 0 : acc >>> 0;
    acc = (acc + data[k]) | 0;
    if (!exclusive) out[k] = signed ? acc : acc >>> 0;
  }
  return out;
}

describeEachBackend('scan', (engine) => {
  it(`cumsum f32 vs tfjs on n = ${SIZES.join(', ')}, inclusive/exclusive, forward/reverse (|err| <= ${RTOL}·running sum|x| + ${ATOL})`, async () => {
    const e = engine();
    for (const n of SIZES) {
      const data = testData(n, n + 3, -2, 2);
      const x = e.tensor(data);
      for (const f of FLAGS) {
        const y = cumsum(e, x, f);
        expect(y.shape).toEqual([n]);
        const expected = tfValues(() => tf.cumsum(tf.tensor1d(data), 0, f.exclusive, f.reverse));
        expectScanClose(await e.read(y), expected, runningAbsSum(data, [n], 0, f.reverse), `n=${n} ${flagLabel(f)}`);
        y.dispose();
      }
      x.dispose();
    }
  });

  const SHAPES: [number[], number[]][] = [
    [[1000, 3], [0, 1, -1]],
    [[3, 2500], [0, 1]],
    [[70, 65], [0, 1]],
    [[9000, 2], [0, 1]],
    [[2, 9000], [1]],
    [[4, 1500, 3], [0, 1, 2]],
    [[5, 7, 9], [0, 1, 2, -2]],
    [[2, 0, 3], [1, 2]],
  ];
  it(`cumsum f32 vs tfjs along every axis of 2-D ${SHAPES.slice(0, 5).map(([s]) => `[${s}]`).join(', ')} and 3-D ${SHAPES.slice(5).map(([s]) => `[${s}]`).join(', ')}, all four variants (|err| <= ${RTOL}·running sum|x| + ${ATOL})`, async () => {
    const e = engine();
    for (const [shape, axes] of SHAPES) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = testData(size, size + 11, -3, 3);
      const x = e.tensor(data, shape);
      for (const axis of axes) {
        const ax = axis < 0 ? axis + shape.length : axis;
        for (const f of FLAGS) {
          const y = cumsum(e, x, { axis, ...f });
          const expected = tfValues(() => tf.cumsum(tf.tensor(data, shape), ax, f.exclusive, f.reverse));
          expectScanClose(await e.read(y), expected, runningAbsSum(data, shape, ax, f.reverse), `[${shape}] axis ${axis} ${flagLabel(f)}`);
          y.dispose();
        }
      }
      x.dispose();
    }
  });

  it('cumsum defaults to the last axis; a scalar is its own sum; -0 and NaN/Inf pass through as in tfjs', async () => {
    const e = engine();
    const m = e.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(Array.from(await e.read(cumsum(e, m)))).toEqual([1, 3, 6, 4, 9, 15]);
    const s = cumsum(e, e.tensor([7], []));
    expect(s.shape).toEqual([]);
    expect(Array.from(await e.read(s))).toEqual([7]);
    const special = new Float32Array([1, NaN, 2, Infinity, -Infinity, 3]);
    const expected = tfValues(() => tf.cumsum(tf.tensor1d(special)));
    expect(Array.from(await e.read(cumsum(e, e.tensor(special))))).toEqual(Array.from(expected));
    const inf = new Float32Array(300).fill(1);
    inf[100] = Infinity;
    const got = await e.read(cumsum(e, e.tensor(inf)));
    expect(got[99]).toBe(100);
    expect(got[100]).toBe(Infinity);
    expect(got[299]).toBe(Infinity);
    expect(Object.is((await e.read(cumsum(e, e.tensor([-0]))))[0], -0)).toBe(true);
  });

  it(`cumsum i32 vs tfjs on n = ${SIZES.join(', ')} and along axis 0 of [1000, 3], all four variants (exact)`, async () => {
    const e = engine();
    const cases: [number[], number][] = [...SIZES.map((n): [number[], number] => [[n], 0]), [[1000, 3], 0]];
    for (const [shape, axis] of cases) {
      const size = shape.reduce((a, b) => a * b, 1);
      const data = Int32Array.from(testData(size, size + 5, -1000, 1000), Math.round);
      const x = e.tensor(data, shape);
      for (const f of FLAGS) {
        const y = cumsum(e, x, { axis, ...f });
        expect(y.dtype).toBe('i32');
        const expected = tfValues(() => tf.cumsum(tf.tensor(data, shape, 'int32'), axis, f.exclusive, f.reverse));
        expect(Array.from(await e.read(y)), `[${shape}] ${flagLabel(f)}`).toEqual(Array.from(expected));
        y.dispose();
      }
      x.dispose();
    }
  });

  it('cumsum i32 and u32 wrap modulo 2^32 like integers (closed form, n = 3 and 100003)', async () => {
    const e = engine();
    const i32 = await e.read(cumsum(e, e.tensor(Int32Array.from([2147483647, 1, 5]))));
    expect(Array.from(i32)).toEqual([2147483647, -2147483648, -2147483643]);
    const u32 = await e.read(cumsum(e, e.tensor(Uint32Array.from([0xffffffff, 2, 3]))));
    expect(Array.from(u32)).toEqual([0xffffffff, 1, 4]);
    const n = 100003;
    const big = Uint32Array.from({ length: n }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 0));
    const bigI = new Int32Array(big.buffer.slice(0));
    for (const f of FLAGS) {
      const yu = await e.read(cumsum(e, e.tensor(big), f));
      expect(Array.from(yu), `u32 ${flagLabel(f)}`).toEqual(wrappingCumsum(big, false, f.exclusive, f.reverse));
      const yi = await e.read(cumsum(e, e.tensor(bigI), f));
      expect(Array.from(yi), `i32 ${flagLabel(f)}`).toEqual(wrappingCumsum(bigI, true, f.exclusive, f.reverse));
    }
  });

  it('cumsum is deterministic: two runs are bit-identical (f32, n = 100003 and [4, 1500, 3] axis 1)', async () => {
    const e = engine();
    const data = testData(100003, 77, -1, 1);
    const x = e.tensor(data);
    const a = await e.read(cumsum(e, x, { exclusive: true }));
    const b = await e.read(cumsum(e, x, { exclusive: true }));
    expect(bitsOf(a)).toEqual(bitsOf(b));
    const m = e.tensor(testData(18000, 78, -1, 1), [4, 1500, 3]);
    const c = await e.read(cumsum(e, m, { axis: 1, reverse: true }));
    const d = await e.read(cumsum(e, m, { axis: 1, reverse: true }));
    expect(bitsOf(c)).toEqual(bitsOf(d));
  });

  it('largest size allowed: maxStorageBufferBindingSize/4 elements (capped at 128 MiB), i32 inclusive and f32 exclusive reverse (exact)', async () => {
    const e = engine();
    const n = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024) / 4;
    // i32: values in [-3, 3]; the prefix sums are exact integers.
    const ints = new Int32Array(n);
    for (let i = 0; i < n; i++) ints[i] = (i % 7) - 3 + (i % 11 === 0 ? 1 : 0);
    let x = e.tensor(ints, [n], 'i32', 'largest-i32');
    let y = cumsum(e, x);
    const gotI = await e.read(y);
    x.dispose();
    y.dispose();
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += ints[i];
      if (gotI[i] !== acc) expect.fail(`i32 [${i}]: got ${gotI[i]}, expected ${acc}`);
    }
    // f32: pairs (k, -k) with k in 1..5, so every partial sum of any range is a small integer: exact
    // in f32 whatever the order of additions.
    const floats = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const k = ((i >> 1) % 5) + 1;
      floats[i] = k;
      floats[i + 1] = -k;
    }
    x = e.tensor(floats, [n], 'f32', 'largest-f32');
    y = cumsum(e, x, { exclusive: true, reverse: true });
    const gotF = await e.read(y);
    x.dispose();
    y.dispose();
    let rev = 0;
    for (let i = n - 1; i >= 0; i--) {
      if (gotF[i] !== rev) expect.fail(`f32 [${i}]: got ${gotF[i]}, expected ${rev}`);
      rev += floats[i];
    }
  });

  it('cumsum rejects bad axes, flags, dtypes of out and in-place use before any work', () => {
    const e = engine();
    const x = e.tensor([1, 2, 3, 4], [2, 2]);
    expect(() => cumsum(e, x, { axis: 2 })).toThrow(ParameterError);
    expect(() => cumsum(e, x, { axis: -3 })).toThrow(/axis = -3 is invalid/);
    expect(() => cumsum(e, x, { axis: 0.5 })).toThrow(ParameterError);
    expect(() => cumsum(e, x, { exclusive: 1 as unknown as boolean })).toThrow(/cumsum exclusive = 1 is invalid/);
    expect(() => cumsum(e, x, { reverse: 'yes' as unknown as boolean })).toThrow(ParameterError);
    expect(() => cumsum(e, x, {}, x)).toThrow(ShapeError);
    expect(() => cumsum(e, x, {}, e.zeros([4]))).toThrow(/out must be \[2, 2\] f32/);
    expect(() => cumsum(e, x, {}, e.zeros([2, 2], 'i32'))).toThrow(ShapeError);
  });
});
