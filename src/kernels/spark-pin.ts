import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type KernelSpec, grid1d } from '../engine/kernel.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { requireDType, workgroupSize } from './common.js';

export const pinYoungSparksKernel: KernelSpec = {
  name: 'spark_pin.pin_young_sparks',
  shader: SHADERS.spark_pin,
  entryPoint: 'pin_young_sparks',
  cpu({ arrays: { spark_pos, spark_age, activation }, uniforms: { pin_params } }) {
    const sparks = pin_params.sparks as number, forceSteps = pin_params.force_steps as number;
    for (let k = 0; k < sparks; k++) if (spark_age[k] < forceSteps) activation[spark_pos[k]] = 1;
  },
};

/**
 * SparkNet step 3: s[pos_k] <- 1 for every spark k with age_k < forceSteps (in place on `s`).
 * Positions must lie in [0, N): they are the model's own state, not checked on the device.
 */
export function pinYoungSparks(engine: Engine, s: Tensor, pos: Tensor, age: Tensor, forceSteps: number): void {
  requireDType('pinYoungSparks s', s, 'f32');
  requireDType('pinYoungSparks pos', pos, 'u32');
  requireDType('pinYoungSparks age', age, 'u32');
  if (pos.size !== age.size) throw new ShapeError(`pinYoungSparks: pos ${pos.describe()} and age ${age.describe()} differ in size`);
  if (!Number.isInteger(forceSteps) || forceSteps < 0 || forceSteps > 0xffffffff) throw new ParameterError('forceSteps', forceSteps, 'an integer in [0, 2^32)');
  if (forceSteps === 0 || pos.size === 0) return;
  const wg = workgroupSize(engine);
  engine.run({
    kernel: pinYoungSparksKernel,
    bindings: { spark_pos: pos, spark_age: age, activation: s },
    uniforms: { pin_params: { sparks: pos.size, force_steps: forceSteps } },
    overrides: { WG: wg },
    workgroups: grid1d(pos.size, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
}
