import { expect, it } from 'vitest';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import type { Engine } from '../../src/engine/engine.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { affine, sigmoid } from '../../src/kernels/elementwise.js';
import {
  type NetworkUpdateOptions,
  networkNoise,
  networkNoiseValue,
  networkUpdateDense,
  networkUpdateSparse,
} from '../../src/kernels/sparknet-network.js';
import { describeEachBackend } from '../support/backends.js';
import { type Tolerance, expectClose, testData, tol } from '../support/compare.js';
import { tf, tfValues } from '../support/tf.js';

const DENSE_SIZES = [1, 7, 500, 1031, 4099];
const SPARSE_SIZES = [1, 7, 500, 1031];
// Sums of up to 4099 f32 products in different orders, through a sigmoid (slope <= 1/4).
const UPDATE: Tolerance = { rtol: 2e-6, atol: 2e-7 };
// WGSL allows cos an absolute error of 2^-11 (llvmpipe: ~5e-6), scaled by the Box-Muller radius (< 6).
const NOISE: Tolerance = { rtol: 1e-5, atol: 5e-5 };

const OPTIONS: NetworkUpdateOptions = { wScale: 0.7, stateDecay: 0.95, noiseStd: 0.05, seed: 1234, step: 17 };

function denseWeights(n: number, seed: number): Float32Array {
  return testData(n * n, seed, -0.3, 0.3);
}

function activations(n: number, seed: number): Float32Array {
  return testData(n, seed, 0, 1);
}

/** sigmoid(wScale·stateDecay·(W·s) + noiseStd·noise), as tfjs computes it. */
function tfUpdate(w: Float32Array, s: Float32Array, noise: ArrayLike<number>, o: NetworkUpdateOptions): Float32Array {
  const n = s.length;
  return tfValues(() =>
    tf.sigmoid(tf.add(tf.mul(tf.matMul(tf.tensor2d(w, [n, n]), tf.tensor2d(s, [n, 1])), o.wScale * o.stateDecay), tf.mul(tf.tensor2d(Float32Array.from(noise), [n, 1]), o.noiseStd))),
  ) as Float32Array;
}

interface Csr {
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  values: Float32Array;
  dense: Float32Array;
}

/** A random CSR matrix with sorted columns: some empty rows, row 1 full, the rest of random degree. */
function randomCsr(n: number, seed: number, maxDegree = 12): Csr {
  let state = seed >>> 0 || 1;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const rowPtr = new Uint32Array(n + 1);
  const cols: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 1) {
      for (let j = 0; j < n; j++) cols.push(j);
    } else if (i % 5 !== 3) {
      const chosen = new Set<number>();
      const degree = Math.floor(next() * (maxDegree + 1));
      for (let k = 0; k < degree; k++) chosen.add(Math.floor(next() * n));
      cols.push(...[...chosen].sort((a, b) => a - b));
    }
    rowPtr[i + 1] = cols.length;
  }
  const colIdx = Uint32Array.from(cols);
  const values = testData(colIdx.length, seed + 1, -0.6, 0.6);
  const dense = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) dense[i * n + colIdx[e]] = values[e];
  return { rowPtr, colIdx, values, dense };
}

function csrTensors(e: Engine, c: Csr): { rowPtr: Tensor; colIdx: Tensor; w: Tensor } {
  return { rowPtr: e.tensor(c.rowPtr), colIdx: e.tensor(c.colIdx), w: e.tensor(c.values) };
}

describeEachBackend('sparknet network update', (engine, backend) => {
  it(`noise: the engine's draws match rng.ts (${tol(NOISE)}; exact on cpu), mean ~ 0 and std ~ 1 over 65536 neurons`, async () => {
    const e = engine();
    const n = 65536;
    const xi = await e.read(networkNoise(e, n, { seed: 99, step: 3 }));
    const host = Float32Array.from({ length: n }, (_, i) => networkNoiseValue(i, 99, 3));
    expectClose(xi, host, backend === 'cpu' ? { rtol: 0, atol: 0 } : NOISE, 'noise');
    let sum = 0, sq = 0;
    for (const v of xi) {
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(sq / n - mean * mean) - 1)).toBeLessThan(0.02);
    const other = await e.read(networkNoise(e, 8, { seed: 99, step: 4 }));
    expect(Array.from(other)).not.toEqual(Array.from(xi.subarray(0, 8)));
  });

  it(`dense vs tfjs on N = ${DENSE_SIZES.join(', ')}, noise read back from networkNoise (${tol(UPDATE)})`, async () => {
    const e = engine();
    for (const n of DENSE_SIZES) {
      const w = denseWeights(n, n + 3);
      const s = activations(n, n + 5);
      const noise = await e.read(networkNoise(e, n, OPTIONS));
      const wt = e.tensor(w, [n, n]);
      const st = e.tensor(s);
      const out = networkUpdateDense(e, { w: wt, s: st }, OPTIONS);
      expectClose(await e.read(out), tfUpdate(w, s, noise, OPTIONS), UPDATE, `dense N=${n}`);
      wt.dispose();
      st.dispose();
      out.dispose();
    }
  });

  it(`sparse vs the dense update of the same weights embedded in a dense matrix, N = ${SPARSE_SIZES.join(', ')} (${tol(UPDATE)})`, async () => {
    const e = engine();
    for (const n of SPARSE_SIZES) {
      const c = randomCsr(n, n + 11);
      const s = activations(n, n + 13);
      const st = e.tensor(s);
      const sparse = await e.read(networkUpdateSparse(e, { ...csrTensors(e, c), s: st }, OPTIONS));
      const dense = await e.read(networkUpdateDense(e, { w: e.tensor(c.dense), s: st }, OPTIONS));
      expectClose(sparse, dense, UPDATE, `sparse N=${n}`);
    }
  });

  it('noiseStd = 0 gives exactly sigmoid(wScale·stateDecay·(W·s)) (dyadic data: W·s exact in any order)', async () => {
    const e = engine();
    const n = 300;
    const w = Float32Array.from(testData(n * n, 5, -8, 8), (v) => Math.round(v) / 64);
    const s = Float32Array.from(testData(n, 6, 0, 16), (v) => Math.round(v) / 16);
    const product = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += w[i * n + j] * s[j];
      product[i] = acc;
    }
    const o = { ...OPTIONS, noiseStd: 0 };
    const wt = e.tensor(w);
    const st = e.tensor(s);
    const got = await e.read(networkUpdateDense(e, { w: wt, s: st }, o));
    const expected = await e.read(sigmoid(e, affine(e, e.tensor(product), o.wScale * o.stateDecay, 0)));
    expect(Array.from(got)).toEqual(Array.from(expected));
    const noisy = await e.read(networkUpdateDense(e, { w: wt, s: st }, OPTIONS));
    expect(Array.from(noisy)).not.toEqual(Array.from(expected));
  });

  it('deterministic: two runs are bit-identical (dense N = 4099, sparse N = 1031)', async () => {
    const e = engine();
    const n = 4099;
    const wt = e.tensor(denseWeights(n, 21));
    const st = e.tensor(activations(n, 22));
    const a = await e.read(networkUpdateDense(e, { w: wt, s: st }, OPTIONS));
    const b = await e.read(networkUpdateDense(e, { w: wt, s: st }, OPTIONS));
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = csrTensors(e, randomCsr(1031, 23));
    const s2 = e.tensor(activations(1031, 24));
    const x = await e.read(networkUpdateSparse(e, { ...c, s: s2 }, OPTIONS));
    const y = await e.read(networkUpdateSparse(e, { ...c, s: s2 }, OPTIONS));
    expect(Array.from(x)).toEqual(Array.from(y));
    const later = await e.read(networkUpdateSparse(e, { ...c, s: s2 }, { ...OPTIONS, step: OPTIONS.step + 1 }));
    expect(Array.from(later)).not.toEqual(Array.from(x));
  });

  it('largest dense N the device allows (N·N·4 bytes <= maxStorageBufferBindingSize, capped at 128 MiB), sampled rows vs f64 host', async () => {
    const e = engine();
    const bytes = Math.min(e.limits.maxStorageBufferBindingSize, 128 * 1024 * 1024);
    const n = Math.floor(Math.sqrt(bytes / 4));
    const w = new Float32Array(n * n);
    const rows = [0, 1, Math.floor(n / 2), n - 1];
    for (const i of rows) w.set(testData(n, i + 31, -0.3, 0.3), i * n);
    const s = activations(n, 32);
    const wt = e.tensor(w, [n, n]);
    const out = await e.read(networkUpdateDense(e, { w: wt, s: e.tensor(s) }, OPTIONS));
    wt.dispose();
    for (const i of rows) {
      let acc = 0;
      for (let j = 0; j < n; j++) acc += w[i * n + j] * s[j];
      const pre = OPTIONS.wScale * OPTIONS.stateDecay * acc + OPTIONS.noiseStd * networkNoiseValue(i, OPTIONS.seed, OPTIONS.step);
      expectClose([out[i]], [1 / (1 + Math.exp(-pre))], UPDATE, `N=${n} row ${i}`);
    }
    const zeroRow = 2;
    const pre0 = OPTIONS.noiseStd * networkNoiseValue(zeroRow, OPTIONS.seed, OPTIONS.step);
    expectClose([out[zeroRow]], [1 / (1 + Math.exp(-pre0))], UPDATE, `N=${n} zero row`);
  });

  it('N = 0 returns an empty sNext', async () => {
    const e = engine();
    const out = networkUpdateDense(e, { w: e.tensor([]), s: e.tensor([]) }, OPTIONS);
    expect(out.shape).toEqual([0]);
    const sp = networkUpdateSparse(e, { rowPtr: e.tensor(new Uint32Array([0])), colIdx: e.tensor(new Uint32Array(0)), w: e.tensor([]), s: e.tensor([]) }, OPTIONS);
    expect(sp.shape).toEqual([0]);
  });

  it('rejects bad arguments before any work (sNext keeps its contents)', async () => {
    const e = engine();
    const n = 4;
    const w = e.tensor(testData(n * n, 1));
    const s = e.tensor(activations(n, 2));
    const sNext = e.tensor([7, 7, 7, 7]);
    const dense = (t: Partial<{ w: Tensor; s: Tensor; sNext: Tensor }>, o: Partial<NetworkUpdateOptions> = {}) => () =>
      networkUpdateDense(e, { w, s, sNext, ...t }, { ...OPTIONS, ...o });
    expect(dense({ w: e.tensor(testData(n * n + 1, 1)) })).toThrow(/w: expected shape \[16\] or \[4, 4\]/);
    expect(dense({ w: e.tensor(testData(n * n, 1), [2, 8]) })).toThrow(ShapeError);
    expect(dense({ w: e.tensor(new Int32Array(n * n)) })).toThrow(/expected f32/);
    expect(dense({ s: e.tensor(new Uint32Array(n)) })).toThrow(/expected f32/);
    expect(dense({ s: e.tensor(activations(n, 2), [2, 2]) })).toThrow(/s: expected shape \[N\]/);
    expect(dense({ sNext: e.tensor([1, 2, 3]) })).toThrow(/out must be \[4\] f32/);
    expect(dense({ sNext: s })).toThrow(/shares memory/);
    expect(dense({ sNext: e.reshape(s, [4]) })).toThrow(/shares memory/);
    expect(dense({}, { wScale: -1 })).toThrow(ParameterError);
    expect(dense({}, { wScale: Infinity })).toThrow(/wScale = Infinity/);
    expect(dense({}, { stateDecay: 1.5 })).toThrow(/stateDecay = 1.5 is invalid: expected a number in \[0, 1\]/);
    expect(dense({}, { stateDecay: NaN })).toThrow(/stateDecay/);
    expect(dense({}, { noiseStd: -0.1 })).toThrow(/noiseStd/);
    expect(dense({}, { seed: -1 })).toThrow(/seed/);
    expect(dense({}, { seed: 1.5 })).toThrow(/seed/);
    expect(dense({}, { step: 2 ** 32 })).toThrow(/step/);
    expect(dense({}, { step: 0.5 })).toThrow(/step/);
    const c = csrTensors(e, randomCsr(n, 3));
    const sparse = (t: Partial<{ rowPtr: Tensor; colIdx: Tensor; w: Tensor; s: Tensor; sNext: Tensor }>, o: Partial<NetworkUpdateOptions> = {}) => () =>
      networkUpdateSparse(e, { ...c, s, sNext, ...t }, { ...OPTIONS, ...o });
    expect(sparse({ rowPtr: e.tensor([0, 1, 2, 3, 4]) })).toThrow(/rowPtr: expected u32/);
    expect(sparse({ rowPtr: e.tensor(new Uint32Array(0)) })).toThrow(/rowPtr: expected shape \[N\+1\]/);
    expect(sparse({ colIdx: e.tensor(new Uint32Array(1)) })).toThrow(/w: expected shape/);
    expect(sparse({ w: e.tensor(new Uint32Array(c.w.size)) })).toThrow(/expected f32/);
    expect(sparse({ s: e.tensor(activations(n + 1, 2)) })).toThrow(/s: expected shape \[4\]/);
    expect(sparse({ sNext: s })).toThrow(/shares memory/);
    expect(sparse({}, { noiseStd: NaN })).toThrow(/noiseStd/);
    expect(() => networkNoise(e, -1, OPTIONS)).toThrow(/n = -1/);
    expect(Array.from(await e.read(sNext))).toEqual([7, 7, 7, 7]);
  });
});
