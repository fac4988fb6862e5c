// The browser bundle (dist/browser/emergent.js, built by `npm test` before vitest runs) in real headless
// Chromium: WebGPU through navigator.gpu (SwiftShader, core feature level) and the CPU backend, checked
// against the Node engine with the same seeds. playwright-core gives each launch a fresh profile.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createEngine } from '../../src/engine/engine.js';
import { matmul } from '../../src/kernels/matmul.js';
import { randomBits } from '../../src/kernels/random.js';
import { sum } from '../../src/kernels/reduce.js';
import { softmax } from '../../src/kernels/softmax.js';

const BUNDLE = 'dist/browser/emergent.js';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM}` : !existsSync(BUNDLE) ? `no ${BUNDLE} (run npm run build)` : null;
if (missing && process.env.CI === 'true') throw new Error(`CI=true and ${missing}: .ci/run installs chromium and npm test builds the bundle`);
if (missing) console.warn(`[skip] browser tests skipped: ${missing}`);

interface PageResult {
  kind: string;
  featureLevel: string;
  sum: number;
  probs: number[];
  bits: number[];
  error?: string;
}

describe.skipIf(missing !== null)('browser bundle in headless Chromium', () => {
  let server: Server;
  let browser: Browser;
  let origin = '';

  beforeAll(async () => {
    const bundle = readFileSync(BUNDLE);
    server = createServer((req, res) => {
      if (req.url === '/emergent.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>emergent</title>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  async function runInPage(backend: 'webgpu' | 'cpu'): Promise<PageResult> {
    const page = await browser.newPage();
    await page.goto(origin);
    // A string, not a function: vitest would rewrite a function's import() before Playwright serialises it.
    const result = await page.evaluate(`(async () => {
      try {
        const { createEngine, ops } = await import('${origin}/emergent.js');
        const e = await createEngine({ backend: '${backend}' });
        const x = e.tensor(Array.from({ length: 64 * 33 }, (_, i) => ((i * 37) % 101 - 50) / 25), [64, 33]);
        const w = e.tensor(Array.from({ length: 33 * 17 }, (_, i) => ((i * 53) % 89 - 44) / 22), [33, 17]);
        const p = ops.softmax(e, ops.matmul(e, x, w));
        const out = {
          kind: e.kind,
          featureLevel: e.info.featureLevel,
          sum: (await e.read(ops.sum(e, p, { axis: null })))[0],
          probs: Array.from(await e.read(p)).slice(0, 40),
          bits: Array.from(await e.read(ops.randomBits(e, [9], { seed: 2 ** 40 + 1, stream: 5, step: 6 }))),
        };
        e.dispose();
        return out;
      } catch (err) {
        return { error: String((err && err.stack) || err) };
      }
    })()`);
    await page.close();
    return result as PageResult;
  }

  async function nodeReference(): Promise<{ probs: Float32Array; bits: Uint32Array }> {
    const e = await createEngine({ backend: 'cpu' });
    const x = e.tensor(Array.from({ length: 64 * 33 }, (_, i) => ((i * 37) % 101 - 50) / 25), [64, 33]);
    const w = e.tensor(Array.from({ length: 33 * 17 }, (_, i) => ((i * 53) % 89 - 44) / 22), [33, 17]);
    const p = softmax(e, matmul(e, x, w));
    const probs = (await e.read(p)) as Float32Array;
    const bits = (await e.read(randomBits(e, [9], { seed: 2 ** 40 + 1, stream: 5, step: 6 }))) as Uint32Array;
    await e.read(sum(e, p, { axis: null }));
    e.dispose();
    return { probs, bits };
  }

  for (const backend of ['webgpu', 'cpu'] as const) {
    it(`${backend} in the page equals the Node engine for the same seeds (Philox words exact, softmax(matmul) within atol 1e-5)`, async () => {
      const page = await runInPage(backend);
      expect(page.error).toBeUndefined();
      expect(page.kind).toBe(backend);
      if (backend === 'webgpu') expect(page.featureLevel).toBe('core');
      const ref = await nodeReference();
      expect(page.bits).toEqual(Array.from(ref.bits));
      expect(Math.abs(page.sum - 64)).toBeLessThan(1e-4);
      page.probs.forEach((v, i) => expect(Math.abs(v - ref.probs[i]), `probs[${i}]`).toBeLessThan(1e-5));
    });
  }
});
