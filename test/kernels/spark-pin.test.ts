import { expect, it } from 'vitest';
import { pinYoungSparks } from '../../src/kernels/spark-pin.js';
import { describeEachBackend } from '../support/backends.js';

describeEachBackend('spark pin (SparkNet step 3)', (engine) => {
  it('pins exactly the neurons of sparks younger than forceSteps, shared neurons included (exact)', async () => {
    const e = engine();
    const n = 1000, k = 300;
    const s0 = Float32Array.from({ length: n }, (_, i) => (i % 17) / 20);
    const pos = Uint32Array.from({ length: k }, (_, i) => (i * 7) % n % 401);
    const age = Uint32Array.from({ length: k }, (_, i) => i % 9);
    const s = e.tensor(s0);
    pinYoungSparks(e, s, e.tensor(pos), e.tensor(age), 5);
    const want = s0.slice();
    for (let i = 0; i < k; i++) if (age[i] < 5) want[pos[i]] = 1;
    expect(Array.from(await e.read(s))).toEqual(Array.from(want));
  });

  it('forceSteps = 0 or no sparks changes nothing; bad arguments are rejected before work', async () => {
    const e = engine();
    const s = e.tensor([0.5, 0.25]);
    pinYoungSparks(e, s, e.tensor(Uint32Array.from([0])), e.tensor(Uint32Array.from([0])), 0);
    pinYoungSparks(e, s, e.tensor(new Uint32Array(0)), e.tensor(new Uint32Array(0)), 5);
    expect(Array.from(await e.read(s))).toEqual([0.5, 0.25]);
    expect(() => pinYoungSparks(e, s, e.tensor(Uint32Array.from([0])), e.tensor(Uint32Array.from([0, 1])), 5)).toThrow(/differ in size/);
    expect(() => pinYoungSparks(e, s, e.tensor(Uint32Array.from([0])), e.tensor(Uint32Array.from([0])), -1)).toThrow(/forceSteps = -1/);
  });
});
