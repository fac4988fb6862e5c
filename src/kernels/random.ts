import type { Engine } from '../engine/engine.js';
import { ParameterError } from '../engine/errors.js';
import { type CpuLaunch, type KernelSpec, grid1d } from '../engine/kernel.js';
import { normal4, philox4x32, seedKey, uniform01 } from '../engine/rng.js';
import type { Shape } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, workgroupSize } from './common.js';

/** Where a draw sits in the counter space: the same (seed, stream, step) gives the same numbers. */
export interface RandomKey {
  seed: number;
  /** Separates independent uses within one run (e.g. init weights vs. noise). */
  stream?: number;
  /** Separates the draws of successive steps. */
  step?: number;
}

interface RandomParams {
  n: number;
  seed_lo: number;
  seed_hi: number;
  stream: number;
  step: number;
  a: number;
  b: number;
}

/** Visits each block of four elements with its Philox words, as the WGSL's invocations do. */
function forEachBlock(p: RandomParams, visit: (g: number, words: Uint32Array) => void): void {
  const words = new Uint32Array(4);
  for (let g = 0; g * 4 < p.n; g++) visit(g, philox4x32(g, 0, p.step, p.stream, p.seed_lo, p.seed_hi, words));
}

function params(launch: CpuLaunch): RandomParams {
  return launch.uniforms.rp as unknown as RandomParams;
}

const shader = SHADERS.random;

export const randomBitsKernel: KernelSpec = {
  name: 'random.bits',
  shader,
  entryPoint: 'random_bits',
  cpu(launch) {
    const p = params(launch);
    const out = launch.arrays.bits_out;
    forEachBlock(p, (g, w) => {
      for (let lane = 0; lane < 4 && g * 4 + lane < p.n; lane++) out[g * 4 + lane] = w[lane];
    });
  },
};

export const randomUniformKernel: KernelSpec = {
  name: 'random.uniform',
  shader,
  entryPoint: 'random_uniform',
  cpu(launch) {
    const p = params(launch);
    const out = launch.arrays.values_out;
    const a = f32(p.a), span = f32(f32(p.b) - a);
    forEachBlock(p, (g, w) => {
      for (let lane = 0; lane < 4 && g * 4 + lane < p.n; lane++) out[g * 4 + lane] = f32(a + f32(span * uniform01(w[lane])));
    });
  },
};

export const randomNormalKernel: KernelSpec = {
  name: 'random.normal',
  shader,
  entryPoint: 'random_normal',
  cpu(launch) {
    const p = params(launch);
    const out = launch.arrays.values_out;
    const z = new Float32Array(4);
    const mean = f32(p.a), std = f32(p.b);
    forEachBlock(p, (g, w) => {
      normal4(w, z);
      for (let lane = 0; lane < 4 && g * 4 + lane < p.n; lane++) out[g * 4 + lane] = f32(mean + f32(std * z[lane]));
    });
  },
};

function checkKey(key: RandomKey): { seed_lo: number; seed_hi: number; stream: number; step: number } {
  const [seed_lo, seed_hi] = seedKey(key.seed);
  const stream = key.stream ?? 0;
  const step = key.step ?? 0;
  if (!Number.isInteger(stream) || stream < 0 || stream > 0xffffffff) throw new ParameterError('stream', stream, 'an integer in [0, 2^32)');
  if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new ParameterError('step', step, 'an integer in [0, 2^32)');
  return { seed_lo, seed_hi, stream, step };
}

function fill(engine: Engine, kernel: KernelSpec, out: Tensor, binding: string, key: RandomKey, a: number, b: number): Tensor {
  const wg = workgroupSize(engine);
  engine.run({
    kernel,
    bindings: { [binding]: out },
    uniforms: { rp: { n: out.size, ...checkKey(key), a, b } },
    overrides: { WG: wg },
    workgroups: grid1d(Math.ceil(out.size / 4), wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return out;
}

/** Raw Philox words (u32), identical on every backend. */
export function randomBits(engine: Engine, shape: Shape, key: RandomKey, out?: Tensor): Tensor {
  return fill(engine, randomBitsKernel, outputTensor(engine, 'randomBits', shape, 'u32', out), 'bits_out', key, 0, 0);
}

/** Uniform in [lo, hi). */
export function randomUniform(engine: Engine, shape: Shape, key: RandomKey, lo = 0, hi = 1, out?: Tensor): Tensor {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo <= hi)) throw new ParameterError('uniform [lo, hi)', [lo, hi], 'finite bounds with lo <= hi');
  return fill(engine, randomUniformKernel, outputTensor(engine, 'randomUniform', shape, 'f32', out), 'values_out', key, lo, hi);
}

/** Normal with the given mean and standard deviation (Box-Muller). */
export function randomNormal(engine: Engine, shape: Shape, key: RandomKey, mean = 0, std = 1, out?: Tensor): Tensor {
  if (!Number.isFinite(mean)) throw new ParameterError('mean', mean, 'a finite number');
  if (!Number.isFinite(std) || std < 0) throw new ParameterError('std', std, 'a finite number >= 0');
  return fill(engine, randomNormalKernel, outputTensor(engine, 'randomNormal', shape, 'f32', out), 'values_out', key, mean, std);
}
