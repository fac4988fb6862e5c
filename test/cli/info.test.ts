// The built command (bin/emergent.js over dist/, built by `npm test` before vitest runs).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasWebGpu } from '../support/backends.js';

const built = existsSync('dist/node/cli.js');
if (!built && process.env.CI === 'true') throw new Error('CI=true and dist/ is missing: npm test builds it first');

function emergent(args: string[], env: Record<string, string> = {}): { out: string; code: number; err: string } {
  try {
    const out = execFileSync(process.execPath, ['bin/emergent.js', ...args], { env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { out, code: 0, err: '' };
  } catch (e) {
    const x = e as { stdout: string; stderr: string; status: number };
    return { out: x.stdout, code: x.status, err: x.stderr };
  }
}

describe.skipIf(!built)('emergent info', () => {
  it('--json with EMERGENT_BACKEND=cpu names the cpu backend and its limits', () => {
    const { out, code } = emergent(['info', '--json'], { EMERGENT_BACKEND: 'cpu' });
    expect(code).toBe(0);
    const info = JSON.parse(out);
    expect(Object.keys(info)).toEqual(expect.arrayContaining(['backend', 'adapter', 'featureLevel', 'software', 'limits']));
    expect(info.backend).toBe('cpu');
    expect(info.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  });

  it.skipIf(!hasWebGpu)('--json --backend webgpu names the adapter, its feature level and whether it is software', () => {
    const info = JSON.parse(emergent(['info', '--json', '--backend', 'webgpu']).out);
    expect(info.backend).toBe('webgpu');
    expect(['core', 'compatibility']).toContain(info.featureLevel);
    expect(typeof info.software).toBe('boolean');
    expect(info.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('a bad backend is refused with the allowed values and a non-zero exit', () => {
    const bad = emergent(['info'], { EMERGENT_BACKEND: 'tpu' });
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/EMERGENT_BACKEND = "tpu" is invalid: expected auto \| webgpu \| cpu/);
    const flag = emergent(['info', '--backend', 'tpu']);
    expect(flag.code).not.toBe(0);
    expect(flag.err).toMatch(/Allowed choices are auto, webgpu, cpu/);
  });
});

describe.skipIf(!built)('emergent demo', () => {
  it('runs on the CPU backend and reports softmax and StableMax entropies below the uniform bound', () => {
    const { out, code } = emergent(['demo', '--backend', 'cpu', '--rows', '64', '--width', '32']);
    expect(code).toBe(0);
    const m = /softmax ([\d.]+) nats, StableMax ([\d.]+) nats \(uniform: ([\d.]+)\)/.exec(out);
    expect(m, out).not.toBeNull();
    const [softmaxH, stableH, uniform] = m!.slice(1).map(Number);
    expect(softmaxH).toBeLessThan(stableH);
    expect(stableH).toBeLessThan(uniform);
  });

  it.skipIf(!hasWebGpu)('exits cleanly in auto mode after passing over a software adapter (its Dawn instance outlives the device)', () => {
    const { code, out } = emergent(['demo', '--rows', '64', '--width', '32']);
    expect(code).toBe(0);
    expect(out).toMatch(/softmax collapse/);
  });

  it('rejects a bad flag before any work, naming it and the range', () => {
    const { code, err } = emergent(['demo', '--backend', 'cpu', '--rows', '0']);
    expect(code).toBe(2);
    expect(err).toMatch(/--rows = "0" is invalid: expected an integer in \[1, 65536\]/);
  });
});
