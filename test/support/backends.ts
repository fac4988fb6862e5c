import { afterAll, beforeAll, describe } from 'vitest';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { findAdapter } from '../../src/engine/webgpu/discover.js';

export type BackendName = 'cpu' | 'webgpu';

/** Whether this machine has a WebGPU adapter. Under CI=true its absence is an error, not a skip. */
async function probeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  const found = await findAdapter();
  if (found.adapter) return { ok: true };
  const reason = `no WebGPU adapter: ${found.attempts.join('; ')}`;
  if (process.env.CI === 'true') {
    throw new Error(`CI=true and ${reason}. Install the Mesa packages of ENVIRONMENT.md (see .ci/run).`);
  }
  return { ok: false, reason };
}

const webgpu = await probeWebGpu();
if (!webgpu.ok) console.warn(`[skip] WebGPU tests skipped: ${webgpu.reason}`);

export const BACKENDS: BackendName[] = ['cpu', 'webgpu'];

/**
 * Declares the suite once per backend: `[cpu]` and `[webgpu]`. The WebGPU suite is skipped, with the
 * reason printed, only where no adapter exists and CI is not set.
 */
export function describeEachBackend(title: string, body: (engine: () => Engine, backend: BackendName) => void): void {
  for (const backend of BACKENDS) {
    const skip = backend === 'webgpu' && !webgpu.ok;
    describe.skipIf(skip)(`${title} [${backend}]`, () => {
      let engine: Engine | undefined;
      beforeAll(async () => {
        engine = await createEngine({ backend });
      });
      afterAll(() => engine?.dispose());
      body(() => {
        if (!engine) throw new Error('engine not created');
        return engine;
      }, backend);
    });
  }
}

export const hasWebGpu = webgpu.ok;
