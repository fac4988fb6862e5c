export * from './elementwise.js';
export { randomBits, randomNormal, randomUniform, type RandomKey } from './random.js';
export { matmul, type MatmulOptions } from './matmul.js';
export { sum, mean, max, min, argmax, argmin, variance, type ReduceOptions, type VarianceOptions } from './reduce.js';
export { softmax, logSoftmax, stablemax, logStablemax, entropy, type AxisOptions, type EntropyOptions } from './softmax.js';
export { gather, type GatherOptions } from './gather.js';
export { scatter, type ScatterOptions, type ScatterReduction } from './scatter.js';
export { cumsum, type CumsumOptions } from './scan.js';
export { quantileAbs, type QuantileOptions } from './quantile.js';
