export { createEngine, Engine, resolveBackendChoice, type EngineOptions, type BackendChoice, type TensorData } from './engine/engine.js';
export { Tensor } from './engine/tensor.js';
export type { Backend, BackendInfo, BackendKind, EngineLimits } from './engine/backend.js';
export type { DType, AnyTypedArray } from './engine/dtype.js';
export { type KernelSpec, type Launch, type CpuLaunch, grid1d } from './engine/kernel.js';
export { type ShaderSource, userShader } from './engine/shader-source.js';
export * from './engine/errors.js';
export * as ops from './kernels/index.js';
