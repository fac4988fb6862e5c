import { expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.js';
import { philox4x32 } from '../../src/engine/rng.js';
import { randomBits, randomNormal, randomUniform } from '../../src/kernels/random.js';
import { describeEachBackend, hasWebGpu } from '../support/backends.js';
import { expectClose } from '../support/compare.js';

function moments(x: ArrayLike<number>): { mean: number; variance: number; skew: number; kurtosis: number } {
  let m = 0;
  for (let i = 0; i < x.length; i++) m += x[i];
  m /= x.length;
  let m2 = 0, m3 = 0, m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - m;
    m2 += d * d;
    m3 += d * d * d;
    m4 += d * d * d * d;
  }
  m2 /= x.length;
  return { mean: m, variance: m2, skew: m3 / x.length / m2 ** 1.5, kurtosis: m4 / x.length / (m2 * m2) };
}

const N = 1 << 18;

describeEachBackend('random (Philox4x32-10)', (engine) => {
  it('u32 words equal the TypeScript Philox for n = 0, 1, 3, 4, 5, 1001 (exact)', async () => {
    const e = engine();
    for (const n of [0, 1, 3, 4, 5, 1001]) {
      const got = await e.read(randomBits(e, [n], { seed: 2 ** 40 + 17, stream: 9, step: 123 }));
      const want = new Uint32Array(n);
      for (let i = 0; i < n; i++) want[i] = philox4x32(i >> 2, 0, 123, 9, 17, 2 ** 8)[i & 3];
      expect(Array.from(got), `n=${n}`).toEqual(Array.from(want));
    }
  });

  it('same key, same numbers; another step, stream or seed, other numbers', async () => {
    const e = engine();
    const a = await e.read(randomUniform(e, [1000], { seed: 1, stream: 2, step: 3 }));
    const b = await e.read(randomUniform(e, [1000], { seed: 1, stream: 2, step: 3 }));
    expect(Array.from(a)).toEqual(Array.from(b));
    for (const key of [{ seed: 1, stream: 2, step: 4 }, { seed: 1, stream: 3, step: 3 }, { seed: 2, stream: 2, step: 3 }]) {
      const c = await e.read(randomUniform(e, [1000], key));
      let same = 0;
      for (let i = 0; i < 1000; i++) if (c[i] === a[i]) same++;
      expect(same, JSON.stringify(key)).toBeLessThan(5);
    }
  });

  it(`uniform [0,1): mean 1/2, variance 1/12, 64-bin chi-square, n = ${N}`, async () => {
    const e = engine();
    const u = await e.read(randomUniform(e, [N], { seed: 7 }));
    const { mean, variance } = moments(u);
    // 5 standard errors: sd(mean) = sqrt(1/12/N), sd(var) ~ sqrt(1/180/N)
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / N));
    const bins = new Array(64).fill(0);
    let outside = 0;
    for (const v of u) {
      if (!(v >= 0 && v < 1)) outside++;
      else bins[Math.floor(v * 64)]++;
    }
    expect(outside).toBe(0);
    const expected = N / 64;
    const chi2 = bins.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(120); // 63 degrees of freedom: P(chi2 > 120) < 1e-5
  });

  it('uniform in [lo, hi) with lo = -3, hi = 5', async () => {
    const e = engine();
    const u = await e.read(randomUniform(e, [4099], { seed: 3 }, -3, 5));
    expect(Math.min(...u)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...u)).toBeLessThan(5);
  });

  it(`normal: mean 0, variance 1, skew 0, kurtosis 3, tails, n = ${N}`, async () => {
    const e = engine();
    const z = await e.read(randomNormal(e, [N], { seed: 11 }));
    const m = moments(z);
    expect(Math.abs(m.mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(m.variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    expect(Math.abs(m.skew)).toBeLessThan(5 * Math.sqrt(6 / N));
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / N));
    let beyond2 = 0;
    for (const v of z) if (Math.abs(v) > 2) beyond2++;
    const p = 0.0455; // P(|Z| > 2)
    expect(Math.abs(beyond2 / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
  });

  it('normal with mean 50, std 5 (the emergence demo), and std 0 gives the mean exactly', async () => {
    const e = engine();
    const z = await e.read(randomNormal(e, [20000], { seed: 42 }, 50, 5));
    const m = moments(z);
    expect(Math.abs(m.mean - 50)).toBeLessThan(0.2);
    expect(Math.abs(Math.sqrt(m.variance) - 5)).toBeLessThan(0.15);
    const c = await e.read(randomNormal(e, [7], { seed: 42 }, 2.5, 0));
    expect(Array.from(c)).toEqual(new Array(7).fill(2.5));
  });

  it('rejects bad keys and ranges before any work', () => {
    const e = engine();
    expect(() => randomUniform(e, [4], { seed: -1 })).toThrow(/seed = -1/);
    expect(() => randomUniform(e, [4], { seed: 1, step: 2 ** 32 })).toThrow(/step/);
    expect(() => randomUniform(e, [4], { seed: 1 }, 1, 0)).toThrow(/lo <= hi/);
    expect(() => randomNormal(e, [4], { seed: 1 }, 0, -1)).toThrow(/std = -1/);
  });
});

// WGSL allows sin/cos an absolute error of 2^-11; llvmpipe measured ~5e-6 here, so normals get atol 5e-5.
it.skipIf(!hasWebGpu)('GPU and CPU draw identical words; uniforms within 1e-6, normals within atol 5e-5 (WGSL sin/cos/log precision)', async () => {
  const cpu = await createEngine({ backend: 'cpu' });
  const gpu = await createEngine({ backend: 'webgpu' });
  const key = { seed: 123456789, stream: 4, step: 77 };
  const n = 100003;
  expect(Array.from(await gpu.read(randomBits(gpu, [n], key)))).toEqual(Array.from(await cpu.read(randomBits(cpu, [n], key))));
  expectClose(await gpu.read(randomUniform(gpu, [n], key, -2, 3)), await cpu.read(randomUniform(cpu, [n], key, -2, 3)), { rtol: 1e-6, atol: 1e-6 }, 'uniform');
  expectClose(await gpu.read(randomNormal(gpu, [n], key)), await cpu.read(randomNormal(cpu, [n], key)), { rtol: 1e-5, atol: 5e-5 }, 'normal');
  cpu.dispose();
  gpu.dispose();
});
