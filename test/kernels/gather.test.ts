import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { gather } from '../../src/kernels/gather.js';
import { describeEachBackend } from '../support/backends.js';
import { EXACT, expectClose, testData } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

/** Deterministic i32 indices in [lo, hi). */
function testIndices(n: number, seed: number, lo: number, hi: number): Int32Array {
  return Int32Array.from(testData(n, seed, 0, 1), (u) => Math.min(hi - 1, lo + Math.floor(u * (hi - lo))));
}

describeEachBackend('gather', (engine) => {
  it('f32 vs tfjs along every axis of [3, 5, 7], 1-D and 2-D indices, negative axes (exact)', async () => {
    const e = engine();
    const data = testData(105, 3, -10, 10);
    const x = e.tensor(data, [3, 5, 7]);
    for (const axis of [0, 1, 2, -1, -3]) {
      const len = [3, 5, 7].at(axis)!;
      for (const idxShape of [[4], [2, 3]]) {
        const size = idxShape.reduce((a, b) => a * b, 1);
        const idx = testIndices(size, 17 + axis, 0, len);
        const y = gather(e, x, e.tensor(idx, idxShape), { axis });
        const ref = tfValues(() => tf.gather(tf.tensor(data, [3, 5, 7]), tf.tensor(idx, idxShape, 'int32'), axis));
        const refShape = tf.tidy(() => tf.gather(tf.tensor(data, [3, 5, 7]), tf.tensor(idx, idxShape, 'int32'), axis).shape);
        expect(y.shape).toEqual(refShape);
        expectClose(await e.read(y), ref, EXACT, `axis ${axis} indices ${idxShape}`);
      }
    }
  });

  it('f32 vs tfjs on x [r, 3] for r = 1, 255, 257, 4099, m = 1, 255, 1001 indices, axes 0 and 1 (exact)', async () => {
    const e = engine();
    for (const r of [1, 255, 257, 4099]) {
      const data = testData(r * 3, r, -1, 1);
      const x = e.tensor(data, [r, 3]);
      for (const m of [1, 255, 1001]) {
        const rows = testIndices(m, m + r, 0, r);
        const y0 = gather(e, x, e.tensor(rows));
        expectClose(await e.read(y0), tfValues(() => tf.gather(tf.tensor(data, [r, 3]), tf.tensor1d(rows, 'int32'))), EXACT, `r=${r} m=${m} axis 0`);
        const cols = testIndices(m, m + r + 1, 0, 3);
        const y1 = gather(e, x, e.tensor(cols), { axis: 1 });
        expectClose(await e.read(y1), tfValues(() => tf.gather(tf.tensor(data, [r, 3]), tf.tensor1d(cols, 'int32'), 1)), EXACT, `r=${r} m=${m} axis 1`);
        y0.dispose();
        y1.dispose();
      }
      x.dispose();
    }
  });

  it('i32 and u32 vs tfjs on x [257, 5], 1000 indices (exact), u32 values above 2^31 kept', async () => {
    const e = engine();
    const ints = Int32Array.from(testData(257 * 5, 9, -2e9, 2e9), Math.trunc);
    const idx = testIndices(1000, 4, 0, 257);
    const refI32 = tfValues(() => tf.gather(tf.tensor(ints, [257, 5], 'int32'), tf.tensor1d(idx, 'int32')));
    expect(refI32).toBeInstanceOf(Int32Array);
    const yi = await e.read(gather(e, e.tensor(ints, [257, 5]), e.tensor(idx)));
    expect(yi).toBeInstanceOf(Int32Array);
    expect(Array.from(yi)).toEqual(Array.from(refI32));
    const uints = new Uint32Array(ints.buffer.slice(0));
    const yu = await e.read(gather(e, e.tensor(uints, [257, 5]), e.tensor(idx)));
    expect(yu).toBeInstanceOf(Uint32Array);
    expect(Array.from(yu)).toEqual(Array.from(new Uint32Array(refI32.buffer.slice(0))));
    expect(Array.from(yu).some((v) => v > 2 ** 31)).toBe(true);
  });

  it('NaN, ±Inf and -0 in x are carried unchanged (matches tfjs)', async () => {
    const e = engine();
    const data = new Float32Array([NaN, Infinity, -Infinity, -0, 1.5, 3.4e38]);
    const idx = Int32Array.from([5, 0, 0, 3, 2, 1, 4]);
    const y = await e.read(gather(e, e.tensor(data), e.tensor(idx)));
    expectClose(y, tfValues(() => tf.gather(tf.tensor1d(data), tf.tensor1d(idx, 'int32'))), EXACT, 'edge values');
    expect(Object.is(y[3], -0)).toBe(true);
  });

  it('empty and single-element cases: 0 indices, an empty axis, x of one element', async () => {
    const e = engine();
    const x = e.tensor(testData(12, 5), [3, 4]);
    const none = gather(e, x, e.tensor(new Int32Array(0)), { axis: 1 });
    expect(none.shape).toEqual([3, 0]);
    expect((await e.read(none)).length).toBe(0);
    const noneGrid = gather(e, x, e.tensor(new Int32Array(0), [2, 0]));
    expect(noneGrid.shape).toEqual([2, 0, 4]);
    const emptyX = gather(e, e.tensor(new Float32Array(0), [0, 4]), e.tensor(new Int32Array(0)));
    expect(emptyX.shape).toEqual([0, 4]);
    const emptyInner = gather(e, e.tensor(new Float32Array(0), [3, 0]), e.tensor(Int32Array.from([2, 1])));
    expect(emptyInner.shape).toEqual([2, 0]);
    const one = gather(e, e.tensor([7.25]), e.tensor(Int32Array.from([0])));
    expect(one.shape).toEqual([1]);
    expect(Array.from(await e.read(one))).toEqual([7.25]);
    const scalarIndex = gather(e, x, e.tensor(Int32Array.from([2]), []), { axis: 1 });
    expect(scalarIndex.shape).toEqual([3]);
    expectClose(await e.read(scalarIndex), tfValues(() => tf.gather(tf.tensor(testData(12, 5), [3, 4]), tf.scalar(2, 'int32'), 1)), EXACT, 'scalar index');
  });

  it('out-of-range and negative indices give NaN (f32) or 0 (i32, u32); the others match tfjs (exact)', async () => {
    const e = engine();
    const data = testData(257 * 3, 2, -5, 5);
    const idx = Int32Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? -1 - i : i % 11 === 0 ? 257 + i : (i * 31) % 257));
    idx[1] = -2147483648;
    idx[2] = 2147483647;
    idx[3] = 257;
    const clamped = idx.map((k) => (k < 0 || k >= 257 ? 0 : k));
    const valid = (j: number) => idx[j] >= 0 && idx[j] < 257;
    const ref = tfValues(() => tf.gather(tf.tensor(data, [257, 3]), tf.tensor1d(clamped, 'int32')));
    const expected = Float32Array.from(ref, (v, o) => (valid(Math.floor(o / 3)) ? v : NaN));
    const y = await e.read(gather(e, e.tensor(data, [257, 3]), e.tensor(idx)));
    expectClose(y, expected, EXACT, 'f32');
    expect(y.filter(Number.isNaN).length).toBe(3 * Array.from(idx).filter((k) => k < 0 || k >= 257).length);

    const ints = Int32Array.from(data, (v) => Math.round(v * 1000) || 1);
    for (const dtype of ['i32', 'u32'] as const) {
      const x = dtype === 'i32' ? ints : new Uint32Array(ints.buffer.slice(0));
      const got = await e.read(gather(e, e.tensor(x, [257, 3]), e.tensor(idx), { axis: -2 }));
      const want = Array.from({ length: 900 }, (_, o) => (valid(Math.floor(o / 3)) ? x[idx[Math.floor(o / 3)] * 3 + (o % 3)] : 0));
      expect(Array.from(got), dtype).toEqual(want);
    }
  });

  it('rejects bad arguments before any work: indices dtype, axis range, scalar x, out shape', () => {
    const e = engine();
    const x = e.tensor(testData(12, 1), [3, 4]);
    expect(() => gather(e, x, e.tensor([0, 1]))).toThrow(ShapeError);
    expect(() => gather(e, x, e.tensor([0, 1]))).toThrow(/gather indices: expected i32, got tensor .* f32/);
    expect(() => gather(e, x, e.tensor(Uint32Array.from([0])))).toThrow(/expected i32/);
    const idx = e.tensor(Int32Array.from([0]));
    for (const axis of [2, -3, 0.5, NaN]) {
      expect(() => gather(e, x, idx, { axis })).toThrow(ParameterError);
    }
    expect(() => gather(e, x, idx, { axis: 2 })).toThrow(/gather axis = 2 is invalid: expected an integer in \[-2, 1\]/);
    expect(() => gather(e, e.tensor([1], []), idx)).toThrow(/expected rank >= 1/);
    expect(() => gather(e, x, idx, {}, e.zeros([1, 4], 'i32'))).toThrow(/out must be \[1, 4\] f32/);
    const gone = e.tensor(Int32Array.from([0]));
    gone.dispose();
    expect(() => gather(e, x, gone)).toThrow(/disposed/);
  });

  it('largest size: x [4, n/4] at maxStorageBufferBindingSize (capped at 128 MiB), output folded into a 2-D dispatch', async () => {
    const e = engine();
    const bytes = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024);
    const n = bytes / 4;
    const row = n / 4;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i += 4099) data[i] = (i % 1000) - 500;
    data[n - 1] = -3;
    const x = e.tensor(data, [4, row], 'f32', 'largest');
    const idx = Int32Array.from([3, 0, 2, 9]);
    const y = gather(e, x, e.tensor(idx));
    expect(y.shape).toEqual([4, row]);
    expect(Math.ceil(y.size / 256)).toBeGreaterThan(65535);
    const out = await e.read(y);
    for (let o = 0; o < 3 * row; o += 1021) expect(out[o]).toBe(data[idx[Math.floor(o / row)] * row + (o % row)]);
    expect(out[row - 1]).toBe(-3);
    expect(out[3 * row]).toBeNaN();
    expect(out[4 * row - 1]).toBeNaN();
    x.dispose();
    y.dispose();
  });
});
