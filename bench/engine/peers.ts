// tfjs-core as the peer, on its CPU backend and, when it loads under Node, on tfjs-backend-webgpu over
// the same Dawn adapter as ours (ENVIRONMENT.md's navigator shim).
import type * as TF from '@tensorflow/tfjs-core';

export interface TfPeer {
  tf: typeof TF;
  /** Backends that loaded, with the reason for any that did not. */
  backends: { name: 'cpu' | 'webgpu'; ok: boolean; reason?: string; adapter?: string }[];
  /** Waits for the GPU work tfjs has issued. */
  sync(): Promise<void>;
}

export async function loadTf(found: { gpu: GPU; featureLevel: 'core' | 'compatibility' } | null): Promise<TfPeer> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const backends: TfPeer['backends'] = [{ name: 'cpu', ok: true }];
  if (!found) {
    backends.push({ name: 'webgpu', ok: false, reason: 'no WebGPU adapter' });
  } else {
    try {
      const g = globalThis as unknown as { navigator?: unknown };
      g.navigator = {
        gpu: {
          requestAdapter: (o?: GPURequestAdapterOptions) => found.gpu.requestAdapter({ ...o, featureLevel: found.featureLevel } as GPURequestAdapterOptions),
          getPreferredCanvasFormat: () => 'rgba8unorm',
          wgslLanguageFeatures: new Set(),
        },
      };
      await import('@tensorflow/tfjs-backend-webgpu');
      const ok = await tf.setBackend('webgpu');
      if (!ok) throw new Error('tf.setBackend("webgpu") returned false');
      await tf.ready();
      backends.push({ name: 'webgpu', ok: true });
    } catch (e) {
      backends.push({ name: 'webgpu', ok: false, reason: (e as Error).message.split('\n')[0] });
    }
  }
  await tf.setBackend('cpu');
  return {
    tf,
    backends,
    async sync() {
      if (tf.getBackend() !== 'webgpu') return;
      const b = tf.backend() as unknown as { endComputePassEncoder(): void; submitQueue(): void; commandEncoder: unknown; device: GPUDevice };
      b.endComputePassEncoder();
      if (b.commandEncoder) b.submitQueue();
      await b.device.queue.onSubmittedWorkDone();
    },
  };
}
