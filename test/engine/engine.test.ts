import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, resolveBackendChoice } from '../../src/engine/engine.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import * as ops from '../../src/kernels/elementwise.js';
import { describeEachBackend, hasWebGpu } from '../support/backends.js';

describeEachBackend('engine', (engine, backend) => {
  it('reports its backend and the limits it holds', () => {
    const e = engine();
    expect(e.kind).toBe(backend);
    expect(e.info.backend).toBe(backend);
    expect(e.info.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    expect(e.info.discovery.at(-1)).toBe(`${backend}: chosen`);
  });

  it('round-trips f32, i32 and u32 data, including NaN, -0 and extreme integers', async () => {
    const e = engine();
    const f = new Float32Array([NaN, -0, Infinity, 1e-45, -3.5]);
    expect(Object.is((await e.read(e.tensor(f)))[1], -0)).toBe(true);
    expect(Array.from(await e.read(e.tensor(f)))).toEqual(Array.from(f));
    const i = Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -1]);
    expect(Array.from(await e.read(e.tensor(i)))).toEqual(Array.from(i));
    const u = Uint32Array.from([0, 2 ** 32 - 1, 12345]);
    expect(Array.from(await e.read(e.tensor(u)))).toEqual(Array.from(u));
    expect(Array.from(await e.read(e.tensor([]))).length).toBe(0);
  });

  it('a disposed tensor whose work is not yet submitted keeps its memory until the submit', async () => {
    const e = engine();
    const data = Float32Array.from({ length: 4096 }, (_, i) => i);
    const x = e.tensor(data);
    const y = ops.square(e, x);
    x.dispose();
    const others = Array.from({ length: 4 }, () => e.tensor(new Float32Array(4096).fill(-7)));
    const got = await e.read(y);
    expect(got[3]).toBe(9);
    expect(got[4095]).toBe(4095 * 4095);
    others.forEach((o) => o.dispose());
  });

  it('write() and copy() keep program order with encoded kernels', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3]);
    const y = ops.neg(e, x);
    e.write(x, [10, 20, 30]);
    const z = ops.neg(e, x);
    const c = e.zeros([3]);
    e.copy(y, c);
    ops.neg(e, x, y);
    expect(Array.from(await e.read(c))).toEqual([-1, -2, -3]);
    expect(Array.from(await e.read(z))).toEqual([-10, -20, -30]);
    expect(Array.from(await e.read(y))).toEqual([-10, -20, -30]);
  });

  it('zeros() clears pooled memory', async () => {
    const e = engine();
    const a = e.tensor(new Float32Array(1000).fill(5));
    await e.read(a);
    a.dispose();
    await e.sync();
    const z = e.zeros([1000]);
    expect((await e.read(z)).every((v) => v === 0)).toBe(true);
  });

  it('3000 chained dispatches (several automatic submits) give the exact result', async () => {
    const e = engine();
    const x = e.tensor(new Float32Array(300).fill(0));
    for (let i = 0; i < 3000; i++) ops.affine(e, x, 1, 1, x);
    expect((await e.read(x)).every((v) => v === 3000)).toBe(true);
  });

  it('reshape and dtype views share memory and outlive the original handle', async () => {
    const e = engine();
    const x = e.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const flat = e.reshape(x, [6]);
    const bits = x.view([6], 'u32');
    x.dispose();
    expect(flat.shape).toEqual([6]);
    expect(Array.from(await e.read(ops.neg(e, flat)))).toEqual([-1, -2, -3, -4, -5, -6]);
    expect((await e.read(bits))[0]).toBe(0x3f800000);
    expect(() => e.reshape(flat, [4])).toThrow(ShapeError);
    expect(() => ops.neg(e, flat, e.reshape(flat, [6]))).toThrow(/bound writable as 'y' and also as 'x'/);
    flat.dispose();
    bits.dispose();
    expect(() => flat.storage).toThrow(/after dispose/);
  });
});

describe('backend choice', () => {
  const saved = process.env.EMERGENT_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.EMERGENT_BACKEND;
    else process.env.EMERGENT_BACKEND = saved;
  });

  it('EMERGENT_BACKEND chooses when no option is given; the option wins; bad values are named', async () => {
    process.env.EMERGENT_BACKEND = 'cpu';
    expect(resolveBackendChoice()).toBe('cpu');
    const e = await createEngine();
    expect(e.kind).toBe('cpu');
    e.dispose();
    expect(resolveBackendChoice('auto')).toBe('auto');
    process.env.EMERGENT_BACKEND = 'cuda';
    expect(() => resolveBackendChoice()).toThrow(ParameterError);
    expect(() => resolveBackendChoice()).toThrow(/EMERGENT_BACKEND = "cuda" is invalid: expected auto \| webgpu \| cpu/);
    expect(() => resolveBackendChoice('gpu')).toThrow(/backend = "gpu"/);
  });

  it.skipIf(!hasWebGpu)('auto takes a hardware adapter, and the CPU over a software one (the benchmarks\' policy)', async () => {
    delete process.env.EMERGENT_BACKEND;
    const gpu = await createEngine({ backend: 'webgpu' });
    const software = gpu.info.software;
    gpu.dispose();
    const e = await createEngine({ backend: 'auto' });
    if (software) {
      expect(e.kind).toBe('cpu');
      expect(e.info.discovery.join('\n')).toMatch(/is a software adapter, slower than the CPU backend.*--backend webgpu/);
    } else {
      expect(e.kind).toBe('webgpu');
    }
    e.dispose();
  });
});
