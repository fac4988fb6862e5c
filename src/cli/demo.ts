import type { Command } from 'commander';
import { type BackendChoice, createEngine, type Engine } from '../engine/engine.js';
import type { Tensor } from '../engine/tensor.js';
import { matmul } from '../kernels/matmul.js';
import { randomNormal } from '../kernels/random.js';
import { argmax, sum } from '../kernels/reduce.js';
import { entropy, softmax, stablemax } from '../kernels/softmax.js';
import { quantileAbs } from '../kernels/quantile.js';
import { backendOption } from './backend-option.js';
import { intFlag } from './parse.js';

interface DemoResult {
  softmaxEntropy: Float32Array;
  stablemaxEntropy: Float32Array;
  softmaxCollapse: number;
  medianAbsWeight: number;
  matmulMs: number;
  checksum: number;
}

/**
 * A batch of random "logits" from a random two-layer map, read through softmax and StableMax
 * (SCIENCE.md §2): the entropies show how much sharper softmax is, and how many rows it collapses.
 */
async function runDemo(engine: Engine, seed: number, rows: number, width: number): Promise<DemoResult> {
  const keep: Tensor[] = [];
  const t = <T extends Tensor>(x: T): T => (keep.push(x), x);
  const x = t(randomNormal(engine, [rows, width], { seed, stream: 1 }));
  const w1 = t(randomNormal(engine, [width, width], { seed, stream: 2 }, 0, 1 / Math.sqrt(width)));
  const w2 = t(randomNormal(engine, [width, 113], { seed, stream: 3 }, 0, 8 / Math.sqrt(width)));
  matmul(engine, x, w1).dispose(); // compiles the pipeline
  await engine.sync();
  const start = performance.now();
  const h = t(matmul(engine, x, w1));
  await engine.sync();
  const matmulMs = performance.now() - start;
  const logits = t(matmul(engine, h, w2));
  const p = t(softmax(engine, logits));
  const s = t(stablemax(engine, logits));
  const hp = t(entropy(engine, p, { eps: 1e-10 }));
  const hs = t(entropy(engine, s, { eps: 1e-10 }));
  const top = t(argmax(engine, p));
  const total = t(sum(engine, logits, { axis: null }));
  const med = t(quantileAbs(engine, t(engine.reshape(w2, [w2.size])), 0.5));
  const probs = (await engine.read(p)) as Float32Array;
  const tops = await engine.read(top);
  let collapsed = 0;
  for (let r = 0; r < rows; r++) if (probs[r * 113 + tops[r]] === 1) collapsed++;
  const result: DemoResult = {
    softmaxEntropy: (await engine.read(hp)) as Float32Array,
    stablemaxEntropy: (await engine.read(hs)) as Float32Array,
    softmaxCollapse: collapsed / rows,
    medianAbsWeight: (await engine.read(med))[0],
    matmulMs,
    checksum: (await engine.read(total))[0],
  };
  keep.forEach((k) => k.dispose());
  return result;
}

const meanOf = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the engine demo on the best backend found (CPU when there is none), checked against the CPU backend')
    .addOption(backendOption())
    .option('--seed <n>', 'seed', '1')
    .option('--rows <n>', 'rows of the batch', '1024')
    .option('--width <n>', 'hidden width', '512')
    .action(async (opts: { backend?: BackendChoice; seed: string; rows: string; width: string }) => {
      const seed = intFlag('--seed', opts.seed, 0);
      const rows = intFlag('--rows', opts.rows, 1, 1 << 16);
      const width = intFlag('--width', opts.width, 1, 8192);
      const engine = await createEngine({ backend: opts.backend });
      try {
        console.log(`Emergent engine demo on ${engine.kind} (${engine.info.adapter}${engine.info.software ? ', software' : ''})`);
        const r = await runDemo(engine, seed, rows, width);
        const gflops = (2 * rows * width * width) / (r.matmulMs / 1000) / 1e9;
        console.log(`  matmul ${rows}x${width} · ${width}x${width}: ${r.matmulMs.toFixed(1)} ms (${gflops.toFixed(2)} GFLOP/s)`);
        console.log(`  mean entropy over ${rows} rows of 113 classes: softmax ${meanOf(r.softmaxEntropy).toFixed(4)} nats, StableMax ${meanOf(r.stablemaxEntropy).toFixed(4)} nats (uniform: ${Math.log(113).toFixed(4)})`);
        console.log(`  softmax collapse (top class exactly 1.0 in f32): ${(100 * r.softmaxCollapse).toFixed(1)}% of rows`);
        console.log(`  median |w| of the output layer: ${r.medianAbsWeight.toFixed(5)}`);
        if (engine.kind !== 'cpu') {
          const cpu = await createEngine({ backend: 'cpu' });
          const c = await runDemo(cpu, seed, rows, width);
          cpu.dispose();
          let worst = 0;
          for (let i = 0; i < rows; i++) worst = Math.max(worst, Math.abs(c.softmaxEntropy[i] - r.softmaxEntropy[i]));
          console.log(`  same seed on the CPU backend: entropies agree within ${worst.toExponential(2)} nats; sums ${r.checksum.toFixed(3)} vs ${c.checksum.toFixed(3)}`);
        }
      } finally {
        engine.dispose();
      }
    });
}
