// Runs a researcher's own WGSL kernel on engine tensors: a leaky ReLU with a uniform slope.
// Run it: node scripts/run-ts.mjs examples/custom-shader.ts
import { createEngine, defineKernel } from '../src/index.js';

export const leakyRelu = defineKernel({
  name: 'leaky-relu',
  code: /* wgsl */ `
struct Params { n: u32, slope: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  let v = x[i];
  y[i] = select(v * params.slope, v, v >= 0.0);
}
`,
  // Optional: the same computation for the CPU backend.
  cpu({ arrays: { x, y }, uniforms: { params } }) {
    const slope = Math.fround(params.slope as number);
    for (let i = 0; i < (params.n as number); i++) y[i] = x[i] >= 0 ? x[i] : Math.fround(x[i] * slope);
  },
});

export async function runExample(backend?: 'auto' | 'webgpu' | 'cpu'): Promise<Float32Array> {
  const engine = await createEngine({ backend });
  try {
    await engine.compile(leakyRelu); // WGSL errors surface here, at the source's own line and column
    const x = engine.tensor([-2, -1, 0, 1, 2]);
    const y = engine.empty([5]);
    engine.run({ kernel: leakyRelu, bindings: { x, y }, uniforms: { params: { n: 5, slope: 0.1 } }, workgroups: [1] });
    return (await engine.read(y)) as Float32Array;
  } finally {
    engine.dispose();
  }
}

if (process.argv[1]?.endsWith('examples/custom-shader.ts')) {
  console.log(Array.from(await runExample()));
}
