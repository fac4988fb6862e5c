import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

await tf.setBackend('cpu');

/** tfjs-core on its CPU backend: the reference every kernel is checked against. */
export { tf };

/** Runs a tfjs computation and returns its values as a Float32Array (or Int32Array), freeing tensors. */
export function tfValues(fn: () => tf.Tensor): Float32Array | Int32Array | Uint8Array {
  return tf.tidy(() => fn().dataSync() as Float32Array | Int32Array | Uint8Array);
}
