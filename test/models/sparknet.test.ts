import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine.js';
import { ParameterError } from '../../src/engine/errors.js';
import { SparkNet } from '../../src/models/sparknet/model.js';
import { resolveSparkNetParams } from '../../src/models/sparknet/params.js';
import { describeEachBackend, hasWebGpu } from '../support/backends.js';
import { expectClose } from '../support/compare.js';

const SMALL = { neurons: 40, sparks: 3, seed: 5 };

async function stateOf(net: SparkNet) {
  const f = await net.frame();
  return { sparks: Array.from(f.sparks), s: f.s, m: f.m, w: 'dense' in f.weights ? f.weights.dense : f.weights.values };
}

describeEachBackend('SparkNet model', (engine) => {
  it('a checkpoint resumes to the bit-identical state of an uninterrupted run (dense sequential, sparse parallel with diffusion)', async () => {
    const e = engine();
    for (const params of [
      { ...SMALL },
      { neurons: 64, sparks: 16, mode: 'parallel' as const, connectivity: 'sparse' as const, degree: 6, diffusion: 0.1, seed: 9 },
    ]) {
      const straight = await SparkNet.create(e, params);
      straight.step(60);
      const first = await SparkNet.create(e, params);
      first.step(25);
      const bytes = await first.checkpoint();
      first.dispose();
      const resumed = await SparkNet.resume(e, bytes);
      expect(resumed.stepCount).toBe(25);
      resumed.step(35);
      expect(Buffer.from(await resumed.checkpoint()).equals(Buffer.from(await straight.checkpoint()))).toBe(true);
      straight.dispose();
      resumed.dispose();
    }
  });

  it('parallel mode with one spark equals sequential mode for 200 steps (positions exact, state within f32 tolerance)', async () => {
    const e = engine();
    const seq = await SparkNet.create(e, { neurons: 30, sparks: 1, seed: 3 });
    const par = await SparkNet.create(e, { neurons: 30, sparks: 1, seed: 3, mode: 'parallel' });
    for (let t = 0; t < 200; t += 20) {
      seq.step(20);
      par.step(20);
      const a = await stateOf(seq), b = await stateOf(par);
      expect(b.sparks, `step ${t + 20}`).toEqual(a.sparks);
      expectClose(b.w, a.w, { rtol: 1e-5, atol: 1e-6 }, `W at step ${t + 20}`);
      expectClose(b.m, a.m, { rtol: 1e-5, atol: 1e-6 }, `M at step ${t + 20}`);
    }
    seq.dispose();
    par.dispose();
  });

  it('metrics after 300 steps of the default network are in range and respawns are counted', async () => {
    const e = engine();
    const net = await SparkNet.create(e, { seed: 1 });
    net.step(300);
    net.updateLayout();
    const m = await net.metrics();
    expect(m.respawns).toBeGreaterThanOrEqual(3); // energy 0.98^t falls below 0.05 after 149 steps
    expect(m.wPositive).toBeGreaterThan(0.4);
    expect(m.wPositive).toBeLessThan(0.7);
    expect(m.mMax).toBeGreaterThan(0);
    expect(m.sMean).toBeGreaterThan(0);
    expect(m.sMean).toBeLessThan(1);
    expect(m.visitEntropy).toBeGreaterThan(0);
    expect(m.visitEntropy).toBeLessThanOrEqual(Math.log(500) + 1e-6);
    expect(m.diagonalMass).toBeGreaterThan(0);
    expect(m.diagonalMass).toBeLessThan(1);
    expect(Number.isFinite(m.layoutMotion)).toBe(true);
    net.dispose();
  });
});

describe.skipIf(!hasWebGpu)('SparkNet across backends', () => {
  it('sequential mode on the CPU backend and on WebGPU follows the same spark paths for 300 steps (state within f32 tolerance)', async () => {
    const cpu = await createEngine({ backend: 'cpu' });
    const gpu = await createEngine({ backend: 'webgpu' });
    const a = await SparkNet.create(cpu, SMALL);
    const b = await SparkNet.create(gpu, SMALL);
    for (let t = 0; t < 300; t += 50) {
      a.step(50);
      b.step(50);
      const x = await stateOf(a), y = await stateOf(b);
      expect(y.sparks, `sparks at step ${t + 50}`).toEqual(x.sparks);
      expectClose(y.w, x.w, { rtol: 1e-4, atol: 1e-5 }, `W at step ${t + 50}`);
      expectClose(y.m, x.m, { rtol: 1e-4, atol: 1e-5 }, `M at step ${t + 50}`);
      expectClose(y.s, x.s, { rtol: 1e-4, atol: 1e-5 }, `s at step ${t + 50}`);
    }
    cpu.dispose();
    gpu.dispose();
  });
});

describe('SparkNet validation (before any work)', () => {
  it('names the parameter, the value and the allowed range', async () => {
    expect(() => resolveSparkNetParams({ neurons: 10, sparks: 11 })).toThrow(/sparks = 11 is invalid: expected at most the number of neurons \(10\)/);
    expect(() => resolveSparkNetParams({ memDecay: 0 })).toThrow(/memDecay = 0 is invalid: expected a decay in \(0, 1\]/);
    expect(() => resolveSparkNetParams({ stateDecay: 1.5 })).toThrow(/stateDecay = 1.5/);
    expect(() => resolveSparkNetParams({ temperature: 0 })).toThrow(/temperature = 0 is invalid: expected a finite number > 0/);
    expect(() => resolveSparkNetParams({ explore: NaN })).toThrow(/explore = NaN/);
    expect(() => resolveSparkNetParams({ memBias: NaN }, true)).toThrow(/--mem-bias = NaN/);
    expect(() => resolveSparkNetParams({ mode: 'fast' as never })).toThrow(/mode = "fast" is invalid: expected sequential \| parallel/);
    expect(() => resolveSparkNetParams({ diffusion: 0.3 })).toThrow(/diffusion = 0.3 .*\[0, 0.25\]/);
    const e = await createEngine({ backend: 'cpu' });
    const huge = Math.ceil(Math.sqrt(e.limits.maxStorageBufferBindingSize / 4)) + 1;
    const err = await SparkNet.create(e, { neurons: huge }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ParameterError);
    expect(String(err)).toMatch(/use sparse connectivity/);
    e.dispose();
  });
});
