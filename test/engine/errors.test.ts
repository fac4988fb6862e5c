import { describe, expect, it } from 'vitest';
import { defineKernel, describeKernel } from '../../src/engine/custom-kernel.js';
import { createEngine } from '../../src/engine/engine.js';
import { DeviceLostError, ParameterError, ShaderCompileError, ShapeError, ValidationError } from '../../src/engine/errors.js';
import type { KernelSpec } from '../../src/engine/kernel.js';
import type { WebGpuBackend } from '../../src/engine/webgpu/webgpu-backend.js';
import * as ops from '../../src/kernels/elementwise.js';
import { runExample } from '../../examples/custom-shader.js';
import { describeEachBackend, hasWebGpu } from '../support/backends.js';

const scale = defineKernel({
  name: 'scale',
  code: `struct P { n: u32, k: f32, dims: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: P;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < p.n) { dst[g.x] = src[g.x] * p.k + f32(p.dims[1].y); }
}`,
  cpu({ arrays: { src, dst }, uniforms: { p } }) {
    const dims = p.dims as number[];
    for (let i = 0; i < (p.n as number); i++) dst[i] = Math.fround(Math.fround(src[i] * (p.k as number)) + dims[5]);
  },
});

describeEachBackend('engine errors and user kernels', (engine, backend) => {
  it('runs a user WGSL kernel with reflected bindings and a uniform struct (vec4 array packing)', async () => {
    const e = engine();
    const src = e.tensor([1, 2, 3, 4, 5, 6, 7]);
    const dst = e.zeros([7]);
    e.run({ kernel: scale, bindings: { src, dst }, uniforms: { p: { n: 7, k: 0.5, dims: [0, 0, 0, 0, 0, 10, 0, 0] } }, workgroups: [1] });
    expect(Array.from(await e.read(dst))).toEqual([10.5, 11, 11.5, 12, 12.5, 13, 13.5]);
  });

  it('describes what a kernel needs, from reflection', () => {
    const d = describeKernel(scale);
    expect(d.bindings.map((b) => [b.name, b.kind])).toEqual([['src', 'storage'], ['dst', 'storage'], ['p', 'uniform']]);
    const p = d.bindings[2];
    expect(p.kind === 'uniform' && p.fields.map((f) => [f.name, f.offset, f.length])).toEqual([['n', 0, 1], ['k', 4, 1], ['dims', 16, 8]]);
  });

  it('rejects a launch that does not fit the WGSL, naming what is wrong, before any work', () => {
    const e = engine();
    const src = e.tensor([1, 2]);
    const dst = e.zeros([2]);
    const ok = { n: 2, k: 1, dims: [0, 0, 0, 0, 0, 0, 0, 0] };
    const run = (over: Partial<Parameters<typeof e.run>[0]>) => () => e.run({ kernel: scale, bindings: { src, dst }, uniforms: { p: ok }, workgroups: [1], ...over });
    expect(run({ bindings: { src } })).toThrow(/scale: binding 'dst' = undefined is invalid: expected a f32 tensor/);
    expect(run({ bindings: { src, dst: e.zeros([2], 'i32') } })).toThrow(/binding 'dst' takes f32, got tensor '.*' \[2\] i32/);
    expect(run({ bindings: { src, dst, extra: src } })).toThrow(/binding = "extra" is invalid/);
    expect(run({ bindings: { src: dst, dst } })).toThrow(ShapeError);
    expect(run({ uniforms: { p: { n: 2, k: 1 } } })).toThrow(/uniform p.dims = undefined is invalid: expected a value \(u32 x 8\)/);
    expect(run({ uniforms: { p: { ...ok, dims: [1, 2] } } })).toThrow(/uniform p.dims = \[1, 2\] is invalid: expected 8 value/);
    expect(run({ uniforms: { p: { ...ok, typo: 1 } } })).toThrow(/uniform p.typo/);
    expect(run({ workgroups: [70000] })).toThrow(/workgroups\[0\] = 70000 is invalid: expected an integer in \[0, 65535\]/);
    expect(run({ overrides: { WG: 64 } })).toThrow(/override = "WG" is invalid/);
    const disposed = e.tensor([1, 2]);
    disposed.dispose();
    expect(run({ bindings: { src: disposed, dst } })).toThrow(/was disposed/);
    expect(() => e.tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => e.empty([2, -1])).toThrow(ParameterError);
  });

  it('the custom-shader example computes a leaky ReLU', async () => {
    expect(Array.from(await runExample(backend))).toEqual([-0.2, -0.1, 0, 1, 2].map(Math.fround));
  });

  it('two runs of the same ops with the same seed are bit-identical', async () => {
    const e = engine();
    const { randomNormal } = await import('../../src/kernels/random.js');
    const once = async () => {
      const x = randomNormal(e, [5003], { seed: 99, step: 4 });
      const y = ops.tanh(e, ops.mul(e, x, ops.sigmoid(e, x)));
      return Array.from(await e.read(y));
    };
    expect(await once()).toEqual(await once());
  });
});

describe.skipIf(!hasWebGpu)('WebGPU failures speak', () => {
  it('a WGSL compile error names the kernel, its line and column, and the source line', async () => {
    const e = await createEngine({ backend: 'webgpu' });
    const bad = defineKernel({ name: 'my-kernel', code: '@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1)\nfn main() {\n  let x: u32 = 1.5;\n  o[0] = f32(x);\n}' });
    const err = await e.compile(bad).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect((err as ShaderCompileError).messages[0]).toMatchObject({ location: 'my-kernel:4', line: 4, column: 16 });
    expect(String((err as Error).message)).toMatch(/WGSL compile error in kernel 'my-kernel':\n {2}my-kernel:4:16: error: .*\n {4}let x: u32 = 1.5;/);
    e.dispose();
  });

  it('a compile error in a shipped shader points into its shaders/ file through includes', async () => {
    const e = await createEngine({ backend: 'webgpu' });
    const kernel: KernelSpec = {
      name: 'broken',
      shader: { name: 'broken', code: 'fn lib_fn() -> f32 { return 1.0; }\n@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(1) fn main() { o[0] = lib_fn() + undefined_name; }', segments: [[1, 'shaders/lib/x.wgsl', 5], [2, 'shaders/broken.wgsl', 3]] },
      entryPoint: 'main',
      cpu() {},
    };
    const err = (await e.compile(kernel).catch((x: unknown) => x)) as ShaderCompileError;
    expect(err).toBeInstanceOf(ShaderCompileError);
    expect(err.messages[0].location).toBe('shaders/broken.wgsl:4');
    expect(() => e.run({ kernel, bindings: { o: e.zeros([1]) }, workgroups: [1] })).toThrow(ShaderCompileError);
    e.dispose();
  });

  it('a pipeline the device refuses (workgroup too large) is a ValidationError naming the kernel', async () => {
    const e = await createEngine({ backend: 'webgpu' });
    const size = e.limits.maxComputeInvocationsPerWorkgroup * 2;
    const big = defineKernel({ name: 'too-wide', code: `@group(0) @binding(0) var<storage, read_write> o: array<f32>;\n@compute @workgroup_size(${size}) fn main() { o[0] = 1.0; }` });
    const err = await e.compile(big).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ValidationError);
    expect(String((err as Error).message)).toMatch(/kernel 'too-wide'/);
    e.dispose();
  });

  it('debug mode: a validation error the engine cannot foresee names its kernel at the next sync', async () => {
    const e = await createEngine({ backend: 'webgpu', debug: true });
    const fixed = defineKernel({ name: 'fixed-size', code: '@group(0) @binding(0) var<storage, read_write> o: array<f32, 64>;\n@compute @workgroup_size(1) fn main() { o[63] = 1.0; }' });
    e.run({ kernel: fixed, bindings: { o: e.zeros([4]) }, workgroups: [1] });
    await expect(e.sync()).rejects.toThrow(/WebGPU validation error in a batch running fixed-size/);
    e.dispose();
  });

  it('device loss rejects pending work with its reason; later calls fail the same way; a new engine works', async () => {
    const e = await createEngine({ backend: 'webgpu' });
    const x = e.tensor(new Float32Array(1 << 16).fill(2));
    const y = ops.square(e, x);
    const pending = e.read(y);
    (e.backend as WebGpuBackend).device.destroy();
    const err = await pending.then(() => null, (x: unknown) => x);
    // The read may have completed before the loss; if not it must reject with the loss.
    if (err) expect(err).toBeInstanceOf(DeviceLostError);
    await (e.backend as WebGpuBackend).device.lost;
    expect(() => ops.square(e, x)).toThrow(DeviceLostError);
    await expect(e.read(x)).rejects.toThrow(/the GPU device was lost \(reason: destroyed/);
    e.dispose();
    const fresh = await createEngine({ backend: 'webgpu' });
    const z = ops.square(fresh, fresh.tensor([3]));
    expect(Array.from(await fresh.read(z))).toEqual([9]);
    fresh.dispose();
  });
});
