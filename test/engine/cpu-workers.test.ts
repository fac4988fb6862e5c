import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defineRowTask, runRows, setWorkerPoolSize, sharedScratch, startWorkerPool, workerPoolStats,
} from '../../src/engine/cpu/worker-pool.js';
import { createEngine, type Engine } from '../../src/engine/engine.js';
import { matmul } from '../../src/kernels/matmul.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A 256x256 matrix of ones squared: 2^24 multiply-adds, enough for the pool; every element is 256. */
async function threadedProduct(e: Engine): Promise<number[]> {
  const ones = e.tensor(new Float32Array(256 * 256).fill(1), [256, 256]);
  const out = await e.read(matmul(e, ones, ones));
  return [out[0], out[out.length - 1]];
}

/** Runs `code` (TypeScript importing from the repository root) in a fresh Node process. */
async function runInChildProcess(code: string): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  const bundle = await build({
    stdin: { contents: code, resolveDir: root, loader: 'ts' },
    absWorkingDir: root,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    packages: 'external',
    alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' },
    write: false,
    logLevel: 'silent',
  });
  const start = performance.now();
  const child = spawnSync(process.execPath, ['--input-type=module'], { cwd: root, input: bundle.outputFiles[0].text, encoding: 'utf8', timeout: 30_000 });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr, ms: performance.now() - start };
}

// The matmul starts the worker (it may finish before the worker is up to take a chunk).
const CHILD_PRELUDE = `
import { setWorkerPoolSize, workerPoolStats } from './src/engine/cpu/worker-pool.ts';
import { createEngine } from './src/engine/engine.ts';
import { matmul } from './src/kernels/matmul.ts';
setWorkerPoolSize(1);
const e = await createEngine({ backend: 'cpu' });
const ones = e.tensor(new Float32Array(256 * 256).fill(1), [256, 256]);
const out = await e.read(matmul(e, ones, ones));
`;

describe('CPU worker pool lifetime', () => {
  afterAll(() => setWorkerPoolSize());

  it('the pool keeps its workers while a CPU engine is alive and has 0 once the last one is disposed; a new engine starts them again', async () => {
    setWorkerPoolSize(1);
    const first = await createEngine({ backend: 'cpu' });
    const second = await createEngine({ backend: 'cpu' });
    expect(await startWorkerPool()).toBe(1);
    expect(await threadedProduct(first)).toEqual([256, 256]);
    expect(workerPoolStats().workers).toBe(1);
    first.dispose();
    expect(workerPoolStats().workers, 'after disposing one engine of two').toBe(1);
    expect(await threadedProduct(second)).toEqual([256, 256]);
    second.dispose();
    expect(workerPoolStats().workers, 'after disposing both').toBe(0);

    const third = await createEngine({ backend: 'cpu' });
    expect(await threadedProduct(third)).toEqual([256, 256]);
    expect(workerPoolStats().workers, 'started again by a task').toBe(1);
    third.dispose();
    expect(workerPoolStats().workers).toBe(0);
  });

  it('a process whose CPU engine was never disposed still exits by itself (workers are unref()ed), as does one that disposed it', async () => {
    const leaked = await runInChildProcess(`${CHILD_PRELUDE}
console.log(JSON.stringify({ value: out[0], workers: workerPoolStats().workers }));`);
    expect(leaked.stderr).toBe('');
    expect(leaked.status, `exit status after ${leaked.ms.toFixed(0)} ms`).toBe(0);
    expect(JSON.parse(leaked.stdout)).toEqual({ value: 256, workers: 1 });

    const disposed = await runInChildProcess(`${CHILD_PRELUDE}
e.dispose();
console.log(JSON.stringify({ value: out[0], workers: workerPoolStats().workers }));`);
    expect(disposed.status, `exit status after ${disposed.ms.toFixed(0)} ms`).toBe(0);
    expect(JSON.parse(disposed.stdout)).toEqual({ value: 256, workers: 0 });
  });
});

interface CountArgs {
  counts: Float32Array;
  /** Milliseconds of busy work per row, so that every thread gets chunks. */
  msPerRow: number;
}

function countRows(args: CountArgs, start: number, end: number): void {
  for (let r = start; r < end; r++) {
    const until = performance.now() + args.msPerRow;
    while (performance.now() < until);
    args.counts[r] += 1;
  }
}

function countRowsThenFailInWorker(args: CountArgs, start: number, end: number): void {
  countRows(args, start, end);
  if (!process.getBuiltinModule('node:worker_threads').isMainThread) throw new Error(`boom in a worker at row ${start}`);
}

const countTask = defineRowTask('test.count', countRows);
const failingTask = defineRowTask('test.fail', countRowsThenFailInWorker, [countRows]);

describe('CPU worker pool tasks', () => {
  afterAll(() => setWorkerPoolSize());

  it('runRows computes every row exactly once between the caller and 2 workers (rows = 1001, chunks starting at multiples of 8); a non-shared array keeps it in the caller', async () => {
    setWorkerPoolSize(2);
    await startWorkerPool();
    const chunksBefore = workerPoolStats().chunksByWorkers;
    const shared = sharedScratch('test.counts', 1001).fill(0);
    runRows(countTask, { counts: shared, msPerRow: 0.05 }, 1001, { work: 2 ** 30, granule: 8 });
    expect(workerPoolStats().chunksByWorkers).toBeGreaterThan(chunksBefore);
    expect(Array.from(shared).every((c) => c === 1)).toBe(true);

    // A non-shared array would be copied to the workers: the caller does every row itself.
    const plain = new Float32Array(1001);
    const chunksMid = workerPoolStats().chunksByWorkers;
    runRows(countTask, { counts: plain, msPerRow: 0.01 }, 1001, { work: 2 ** 30 });
    expect(workerPoolStats().chunksByWorkers).toBe(chunksMid);
    expect(Array.from(plain).every((c) => c === 1)).toBe(true);
  });

  it("a worker's error reaches the caller as an exception naming the task, once every chunk is done", async () => {
    setWorkerPoolSize(1);
    await startWorkerPool();
    const counts = sharedScratch('test.counts', 64).fill(0);
    expect(() => runRows(failingTask, { counts, msPerRow: 2 }, 64, { work: 2 ** 30 })).toThrow(/test\.fail failed in a CPU worker: Error: boom in a worker at row \d+/);
    expect(Array.from(counts).every((c) => c === 1)).toBe(true);
  });
});
