import { ParameterError } from '../../engine/errors.js';

export type SparkMode = 'sequential' | 'parallel';
export type Connectivity = 'dense' | 'sparse';
export type DiffusionGraph = 'grid' | 'weights';
export type NeighbourStructure = 'random' | 'grid';

/** Every SparkNet parameter (SCIENCE.md §1), with the original authors' defaults. */
export interface SparkNetParams {
  neurons: number;
  sparks: number;
  mode: SparkMode;
  connectivity: Connectivity;
  /** Neighbours per neuron with sparse connectivity. */
  degree: number;
  /** How sparse neighbours are chosen: uniformly at random (symmetrised) or grid-local. */
  neighbours: NeighbourStructure;
  /** Rows of the grid the neurons are drawn on (columns = ceil(neurons / rows)); 0: gridShape's choice. */
  gridRows: number;
  stateDecay: number;
  noiseStd: number;
  lrEdge: number;
  globalDecay: number;
  memDecay: number;
  memDeposit: number;
  memBias: number;
  explore: number;
  temperature: number;
  energyDecay: number;
  minEnergy: number;
  forceSteps: number;
  respawnGain: number;
  /** Memory-field diffusion coefficient D (ours; 0 is the original). */
  diffusion: number;
  diffusionGraph: DiffusionGraph;
  seed: number;
}

export const SPARKNET_DEFAULTS: SparkNetParams = {
  neurons: 500,
  sparks: 3,
  mode: 'sequential',
  connectivity: 'dense',
  degree: 16,
  neighbours: 'random',
  gridRows: 0,
  stateDecay: 0.95,
  noiseStd: 0.05,
  lrEdge: 0.05,
  globalDecay: 0.001,
  memDecay: 0.92,
  memDeposit: 0.15,
  memBias: 0.8,
  explore: 0.05,
  temperature: 0.3,
  energyDecay: 0.98,
  minEnergy: 0.05,
  forceSteps: 5,
  respawnGain: 2.0,
  diffusion: 0,
  diffusionGraph: 'grid',
  seed: 0,
};

type Check = [keyof SparkNetParams, (v: number) => boolean, string];

const RANGE_CHECKS: Check[] = [
  ['neurons', (v) => Number.isInteger(v) && v >= 1 && v <= 2 ** 26, 'an integer in [1, 2^26]'],
  ['sparks', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1'],
  ['degree', (v) => Number.isInteger(v) && v >= 1, 'an integer >= 1'],
  ['gridRows', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0 (0: automatic)'],
  ['stateDecay', (v) => v > 0 && v <= 1, 'a decay in (0, 1]'],
  ['memDecay', (v) => v > 0 && v <= 1, 'a decay in (0, 1]'],
  ['energyDecay', (v) => v > 0 && v <= 1, 'a decay in (0, 1]'],
  ['globalDecay', (v) => v >= 0 && v < 1, 'a rate in [0, 1)'],
  ['lrEdge', (v) => v >= 0 && v <= 1, 'a rate in [0, 1]'],
  ['noiseStd', (v) => v >= 0 && Number.isFinite(v), 'a finite number >= 0'],
  ['memDeposit', (v) => v >= 0 && Number.isFinite(v), 'a finite number >= 0'],
  ['memBias', (v) => Number.isFinite(v), 'a finite number'],
  ['explore', (v) => v >= 0 && v <= 1, 'a probability in [0, 1]'],
  ['temperature', (v) => v > 0 && Number.isFinite(v), 'a finite number > 0'],
  ['minEnergy', (v) => v >= 0 && v < 1, 'a number in [0, 1)'],
  ['forceSteps', (v) => Number.isInteger(v) && v >= 0, 'an integer >= 0'],
  ['respawnGain', (v) => Number.isFinite(v), 'a finite number'],
  ['diffusion', (v) => v >= 0 && Number.isFinite(v), 'a finite number >= 0'],
  ['seed', (v) => Number.isSafeInteger(v) && v >= 0, 'an integer in [0, 2^53)'],
];

const CHOICES: [keyof SparkNetParams, readonly string[]][] = [
  ['mode', ['sequential', 'parallel']],
  ['connectivity', ['dense', 'sparse']],
  ['diffusionGraph', ['grid', 'weights']],
  ['neighbours', ['random', 'grid']],
];

/**
 * The full parameter set: defaults overlaid with `given`, checked before any work. Each failure names
 * the parameter (in the CLI's kebab-case when `flagNames`), its value and the allowed range.
 */
export function resolveSparkNetParams(given: Partial<SparkNetParams>, flagNames = false): SparkNetParams {
  const name = (k: string) => (flagNames ? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : k);
  for (const k of Object.keys(given)) {
    if (!(k in SPARKNET_DEFAULTS)) throw new ParameterError(name(k), (given as Record<string, unknown>)[k], `one of ${Object.keys(SPARKNET_DEFAULTS).join(', ')}`);
  }
  const p: SparkNetParams = { ...SPARKNET_DEFAULTS, ...given };
  for (const [k, ok, allowed] of RANGE_CHECKS) {
    const v = p[k] as number;
    if (typeof v !== 'number' || Number.isNaN(v) || !ok(v)) throw new ParameterError(name(k), v, allowed);
  }
  for (const [k, allowed] of CHOICES) {
    if (!allowed.includes(p[k] as string)) throw new ParameterError(name(k), p[k], allowed.join(' | '));
  }
  if (p.sparks > p.neurons) throw new ParameterError(name('sparks'), p.sparks, `at most the number of neurons (${p.neurons})`);
  if (p.connectivity === 'sparse' && p.degree >= p.neurons) {
    throw new ParameterError(name('degree'), p.degree, `less than the number of neurons (${p.neurons}); use dense connectivity for a complete graph`);
  }
  if (p.diffusionGraph === 'grid' && p.diffusion > 0.25) {
    throw new ParameterError(name('diffusion'), p.diffusion, 'a coefficient in [0, 0.25] on the grid (larger is unstable)');
  }
  return p;
}

/**
 * The grid the neurons are drawn on (and diffuse on): `gridRows` rows when given, else the largest divisor
 * of N not above sqrt(N) when it is at least half of sqrt(N) (500 -> 20 x 25, 4096 -> 64 x 64), else
 * floor(sqrt(N)) rows with a partial last row.
 */
export function gridShape(p: Pick<SparkNetParams, 'neurons' | 'gridRows'>): { rows: number; cols: number } {
  const n = p.neurons;
  let rows = p.gridRows;
  if (rows === 0) {
    const root = Math.floor(Math.sqrt(n));
    rows = root;
    for (let r = root; r >= Math.ceil(root / 2); r--) {
      if (n % r === 0) {
        rows = r;
        break;
      }
    }
  }
  rows = Math.max(1, Math.min(rows, n));
  return { rows, cols: Math.ceil(n / rows) };
}
