import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import type { DType } from '../../src/engine/dtype.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { scatter } from '../../src/kernels/scatter.js';
import { describeEachBackend } from '../support/backends.js';
import { EXACT, type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

// f32 sums run in ascending source order from 0 as tfjs's CPU scatterND does; the tolerance only
// allows for a device that flushes subnormals.
const SUM: Tolerance = { rtol: 1e-6, atol: 1e-6 };

/** Deterministic i32 indices in [lo, hi). */
function testIndices(n: number, seed: number, lo: number, hi: number): Int32Array {
  return Int32Array.from(testData(n, seed, 0, 1), (u) => Math.min(hi - 1, lo + Math.floor(u * (hi - lo))));
}

/** tf.scatterND (duplicates sum) with indices [n] read as [n, 1]. */
function tfScatterAdd(updates: Float32Array | Int32Array, idx: Int32Array, shape: number[]): Float32Array | Int32Array {
  const dtype = updates instanceof Int32Array ? 'int32' : 'float32';
  const upd = tf.tensor(updates, [idx.length, ...shape.slice(1)], dtype);
  return tfValues(() => tf.scatterND(tf.tensor2d(idx, [idx.length, 1], 'int32'), upd, shape)) as Float32Array | Int32Array;
}

/** tf.tensorScatterUpdate on zeros: sequential assignment, so the last duplicate wins. */
function tfScatterAssign(updates: Float32Array | Int32Array, idx: Int32Array, shape: number[]): Float32Array | Int32Array {
  const dtype = updates instanceof Int32Array ? 'int32' : 'float32';
  const upd = tf.tensor(updates, [idx.length, ...shape.slice(1)], dtype);
  return tfValues(() => tf.tensorScatterUpdate(tf.zeros(shape, dtype), tf.tensor2d(idx, [idx.length, 1], 'int32'), upd)) as Float32Array | Int32Array;
}

function asU32(a: Int32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

describeEachBackend('scatter', (engine) => {
  let cpu: Engine;
  beforeAll(async () => {
    cpu = await createEngine({ backend: 'cpu' });
  });
  afterAll(() => cpu.dispose());

  it(`f32 add vs tf.scatterND on n = 1, 255, 257, 4099 updates into [rows, 3], rows = 1, 7, 300, duplicates (${tol(SUM)})`, async () => {
    const e = engine();
    for (const n of [1, 255, 257, 4099]) {
      for (const rows of [1, 7, 300]) {
        const upd = testData(n * 3, n + rows, -100, 100);
        const idx = testIndices(n, 3 * n + rows, 0, rows);
        const y = scatter(e, e.tensor(upd, [n, 3]), e.tensor(idx), [rows, 3], { reduce: 'add' });
        expect(y.shape).toEqual([rows, 3]);
        expectClose(await e.read(y), tfScatterAdd(upd, idx, [rows, 3]), SUM, `n=${n} rows=${rows}`);
        y.dispose();
      }
    }
  });

  it('assign vs tf.tensorScatterUpdate on zeros, f32/i32/u32, n = 1, 255, 257, 4099 into [rows, 2, 3]: the last duplicate wins (exact)', async () => {
    const e = engine();
    for (const n of [1, 255, 257, 4099]) {
      for (const rows of [1, 5, 1000]) {
        const upd = testData(n * 6, n * rows, -1e3, 1e3);
        const idx = testIndices(n, n + 7 * rows, 0, rows);
        const shape = [rows, 2, 3];
        const ref = tfScatterAssign(upd, idx, shape);
        const y = scatter(e, e.tensor(upd, [n, 2, 3]), e.tensor(idx), shape);
        expect(y.shape).toEqual(shape);
        expectClose(await e.read(y), ref, EXACT, `f32 n=${n} rows=${rows}`);
        const ints = Int32Array.from(upd, (v) => Math.round(v * 1e6));
        const refInt = tfScatterAssign(ints, idx, shape) as Int32Array;
        const yi = await e.read(scatter(e, e.tensor(ints, [n, 2, 3]), e.tensor(idx), shape, { reduce: 'assign' }));
        expect(yi).toBeInstanceOf(Int32Array);
        expect(Array.from(yi), `i32 n=${n} rows=${rows}`).toEqual(Array.from(refInt));
        const yu = await e.read(scatter(e, e.tensor(asU32(ints), [n, 2, 3]), e.tensor(idx), shape, { reduce: 'assign' }));
        expect(yu).toBeInstanceOf(Uint32Array);
        expect(Array.from(yu), `u32 n=${n} rows=${rows}`).toEqual(Array.from(asU32(refInt)));
      }
    }
  });

  it('i32 and u32 add vs tf.scatterND on n = 1, 257, 4099 (exact), sums wrap modulo 2^32', async () => {
    const e = engine();
    for (const n of [1, 257, 4099]) {
      const ints = Int32Array.from(testData(n * 2, n, -2e9, 2e9), Math.trunc);
      const idx = testIndices(n, n + 1, 0, 13);
      const ref = tfScatterAdd(ints, idx, [13, 2]) as Int32Array;
      const yi = await e.read(scatter(e, e.tensor(ints, [n, 2]), e.tensor(idx), [13, 2], { reduce: 'add' }));
      expect(Array.from(yi), `i32 n=${n}`).toEqual(Array.from(ref));
      const yu = await e.read(scatter(e, e.tensor(asU32(ints), [n, 2]), e.tensor(idx), [13, 2], { reduce: 'add' }));
      expect(yu).toBeInstanceOf(Uint32Array);
      expect(Array.from(yu), `u32 n=${n}`).toEqual(Array.from(asU32(ref)));
    }
    const wrap = await e.read(scatter(e, e.tensor(Uint32Array.from([0xffffffff, 2, 0x80000000, 0x80000000])), e.tensor(Int32Array.from([0, 0, 1, 1])), [2], { reduce: 'add' }));
    expect(Array.from(wrap)).toEqual([1, 0]);
    const wrapI = await e.read(scatter(e, e.tensor(Int32Array.from([2147483647, 1])), e.tensor(Int32Array.from([0, 0])), [1], { reduce: 'add' }));
    expect(Array.from(wrapI)).toEqual([-2147483648]);
  });

  it('f32 add is deterministic with many duplicates: 20000 updates into 5 rows and all into 1 row; two runs bit-identical, equal to the CPU twin and tfjs (exact)', async () => {
    const e = engine();
    const n = 20000;
    // Magnitudes spread over 8 decades so that the order of the additions changes the rounding.
    const upd = Float32Array.from(testData(n * 2, 77, -1, 1), (u, i) => u * 10 ** (i % 9 - 4));
    for (const rows of [5, 1]) {
      const idx = testIndices(n, 91 + rows, 0, rows);
      const run = async (eng: Engine) => eng.read(scatter(eng, eng.tensor(upd, [n, 2]), eng.tensor(idx), [rows, 2], { reduce: 'add' }));
      const first = await run(e);
      const second = await run(e);
      expect(new Uint32Array(second.buffer)).toEqual(new Uint32Array(first.buffer));
      // No subnormals arise here and WGSL's f32 + is correctly rounded: the same order gives the same bits.
      expectClose(first, await run(cpu), EXACT, `vs CPU twin rows=${rows}`);
      expectClose(first, tfScatterAdd(upd, idx, [rows, 2]), EXACT, `vs tfjs rows=${rows}`);
      // The check can fail: summing in the reverse order rounds differently.
      const reversed = new Float32Array(rows * 2);
      for (let i = n - 1; i >= 0; i--) for (let c = 0; c < 2; c++) reversed[idx[i] * 2 + c] += upd[i * 2 + c];
      expect(Array.from(reversed)).not.toEqual(Array.from(first));
    }
  });

  it('out-of-range and negative indices are skipped (assign and add, f32/i32/u32), others match tfjs (f32 add rtol 1e-6, atol 1e-6; others exact)', async () => {
    const e = engine();
    const n = 601;
    const rows = 37;
    const idx = Int32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? -1 - i : i % 7 === 0 ? rows + i : (i * 13) % rows));
    idx[1] = -2147483648;
    idx[2] = 2147483647;
    idx[3] = rows;
    const keep = Array.from(idx.keys()).filter((i) => idx[i] >= 0 && idx[i] < rows);
    const upd = testData(n * 3, 5, -10, 10);
    const ints = Int32Array.from(upd, (v) => Math.round(v * 1e3));
    const pick = <T extends Float32Array | Int32Array>(a: T): T => {
      const out = new (a.constructor as new (len: number) => T)(keep.length * 3);
      keep.forEach((i, j) => out.set(a.subarray(i * 3, i * 3 + 3), j * 3));
      return out;
    };
    const kept = Int32Array.from(keep, (i) => idx[i]);
    const shape = [rows, 3];
    const addF32 = await e.read(scatter(e, e.tensor(upd, [n, 3]), e.tensor(idx), shape, { reduce: 'add' }));
    expectClose(addF32, tfScatterAdd(pick(upd), kept, shape), SUM, 'f32 add');
    const assignF32 = await e.read(scatter(e, e.tensor(upd, [n, 3]), e.tensor(idx), shape, { reduce: 'assign' }));
    expectClose(assignF32, tfScatterAssign(pick(upd), kept, shape), EXACT, 'f32 assign');
    for (const reduce of ['add', 'assign'] as const) {
      const ref = (reduce === 'add' ? tfScatterAdd : tfScatterAssign)(pick(ints), kept, shape) as Int32Array;
      const yi = await e.read(scatter(e, e.tensor(ints, [n, 3]), e.tensor(idx), shape, { reduce }));
      expect(Array.from(yi), `i32 ${reduce}`).toEqual(Array.from(ref));
      const yu = await e.read(scatter(e, e.tensor(asU32(ints), [n, 3]), e.tensor(idx), shape, { reduce }));
      expect(Array.from(yu), `u32 ${reduce}`).toEqual(Array.from(asU32(ref)));
    }
    const allOut = await e.read(scatter(e, e.tensor([1, 2]), e.tensor(Int32Array.from([-1, 3])), [3], { reduce: 'add' }));
    expect(Array.from(allOut)).toEqual([0, 0, 0]);
  });

  it('empty and single-element cases: no updates gives zeros, zero rows, zero-width rows, one update, indices [n, 1]', async () => {
    const e = engine();
    for (const dtype of ['f32', 'i32', 'u32'] as DType[]) {
      for (const reduce of ['add', 'assign'] as const) {
        const none = scatter(e, e.empty([0, 4], dtype), e.tensor(new Int32Array(0)), [3, 4], { reduce });
        expect(none.shape).toEqual([3, 4]);
        expect(none.dtype).toBe(dtype);
        expect(Array.from(await e.read(none)), `${dtype} ${reduce}`).toEqual(new Array(12).fill(0));
        const noRows = scatter(e, e.tensor(new Float32Array(2), [2], dtype), e.tensor(Int32Array.from([0, 1])), [0], { reduce });
        expect(noRows.shape).toEqual([0]);
        const noWidth = scatter(e, e.empty([2, 0], dtype), e.tensor(Int32Array.from([0, 1])), [3, 0], { reduce });
        expect(noWidth.shape).toEqual([3, 0]);
        const one = scatter(e, e.tensor([5], [1], dtype), e.tensor(Int32Array.from([2])), [4], { reduce });
        expect(Array.from(await e.read(one)), `${dtype} ${reduce} one`).toEqual([0, 0, 5, 0]);
      }
    }
    const upd = testData(10, 3);
    const idx = Int32Array.from([4, 1, 4, 0, 1]);
    const column = scatter(e, e.tensor(upd, [5, 2]), e.tensor(idx, [5, 1]), [6, 2], { reduce: 'add' });
    expectClose(await e.read(column), tfScatterAdd(upd, idx, [6, 2]), SUM, 'indices [n, 1]');
  });

  it('out: every element is overwritten, rows without updates become 0 (assign and add, f32 and i32)', async () => {
    const e = engine();
    const idx = e.tensor(Int32Array.from([2, 0, 2]));
    for (const dtype of ['f32', 'i32'] as DType[]) {
      for (const reduce of ['add', 'assign'] as const) {
        const out = e.tensor([9, 9, 9, 9, 9, 9, 9, 9], [4, 2], dtype);
        const y = scatter(e, e.tensor([1, 2, 3, 4, 5, 6], [3, 2], dtype), idx, [4, 2], { reduce }, out);
        expect(y).toBe(out);
        const want = reduce === 'add' ? [3, 4, 0, 0, 6, 8, 0, 0] : [3, 4, 0, 0, 5, 6, 0, 0];
        expect(Array.from(await e.read(out)), `${dtype} ${reduce}`).toEqual(want);
      }
    }
  });

  it('rejects bad arguments before any work: indices dtype and shape, updates shape, shape, reduce, out', () => {
    const e = engine();
    const upd = e.tensor(testData(6, 1), [3, 2]);
    const idx = e.tensor(Int32Array.from([0, 1, 2]));
    expect(() => scatter(e, upd, e.tensor([0, 1, 2]), [4, 2])).toThrow(/scatter indices: expected i32, got tensor .* f32/);
    expect(() => scatter(e, upd, e.tensor(Uint32Array.from([0, 1, 2])), [4, 2])).toThrow(ShapeError);
    expect(() => scatter(e, upd, e.tensor(Int32Array.from([0, 1, 2, 0, 1, 2]), [3, 2]), [4, 2])).toThrow(/expected shape \[n\] or \[n, 1\]/);
    expect(() => scatter(e, upd, e.tensor(Int32Array.from([0, 1])), [4, 2])).toThrow(/scatter updates: expected shape \[2, 2\]/);
    expect(() => scatter(e, upd, idx, [4, 3])).toThrow(/scatter updates: expected shape \[3, 3\]/);
    expect(() => scatter(e, upd, idx, [4, 2, 1])).toThrow(ShapeError);
    expect(() => scatter(e, upd, idx, [])).toThrow(ParameterError);
    expect(() => scatter(e, upd, idx, [4, -2])).toThrow(/scatter shape\[1\] = -2 is invalid/);
    expect(() => scatter(e, upd, idx, [4, 2], { reduce: 'max' as 'add' })).toThrow(/scatter reduce = "max" is invalid: expected assign \| add/);
    expect(() => scatter(e, upd, idx, [4, 2], {}, e.zeros([4, 2], 'i32'))).toThrow(/out must be \[4, 2\] f32/);
    expect(() => scatter(e, upd, idx, [4, 2], { reduce: 'add' }, e.zeros([4, 3]))).toThrow(/out must be \[4, 2\] f32/);
  });

  it('largest size: updates [4, n/4] at maxStorageBufferBindingSize (capped at 128 MiB), f32 add and i32 assign, folded 2-D dispatch', async () => {
    const e = engine();
    const bytes = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024);
    const row = bytes / 16;
    const data = new Float32Array(4 * row);
    const ints = new Int32Array(4 * row);
    for (let i = 0; i < data.length; i++) {
      data[i] = (i % 1000) - 500.5;
      ints[i] = 2 * (i % 1000) - 1001;
    }
    const idx = e.tensor(Int32Array.from([2, 0, 2, 5]));
    const upd = e.tensor(data, [4, row], 'f32', 'largest');
    const y = scatter(e, upd, idx, [3, row], { reduce: 'add' });
    expect(Math.ceil(y.size / 256)).toBeGreaterThan(65535);
    const sums = await e.read(y);
    upd.dispose();
    y.dispose();
    const updI = e.tensor(ints, [4, row], 'i32', 'largest-i32');
    const yi = scatter(e, updI, idx, [3, row]);
    const assigned = await e.read(yi);
    updI.dispose();
    yi.dispose();
    const wrong: string[] = [];
    for (let c = 0; c < row; c += 1021) {
      const want = [data[row + c], 0, Math.fround(data[c] + data[2 * row + c])];
      const wantI = [ints[row + c], 0, ints[2 * row + c]];
      for (let r = 0; r < 3; r++) {
        if (sums[r * row + c] !== want[r]) wrong.push(`add [${r}, ${c}]: ${sums[r * row + c]} != ${want[r]}`);
        if (assigned[r * row + c] !== wantI[r]) wrong.push(`assign [${r}, ${c}]: ${assigned[r * row + c]} != ${wantI[r]}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect([sums[3 * row - 1], assigned[3 * row - 1]]).toEqual([Math.fround(data[row - 1] + data[3 * row - 1]), ints[3 * row - 1]]);
  });
});
