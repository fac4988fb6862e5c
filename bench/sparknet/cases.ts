// The SparkNet configurations of the benchmark, and what each needs in memory.
import type { SparkNetParams } from '../../src/models/sparknet/params.js';

export type PeerName = 'original' | 'vectorized';

export interface SparkCase {
  /** Short name for --cases. */
  key: string;
  /** The row label in bench/results/sparknet.json. */
  label: string;
  params: Partial<SparkNetParams> & Pick<SparkNetParams, 'neurons' | 'sparks' | 'mode' | 'connectivity'>;
  /** PyTorch peers measured beside ours; the first is the one our rows are compared with. */
  peers: PeerName[];
}

export const SPARK_CASES: SparkCase[] = [
  {
    key: 'seq500',
    label: 'N=500, K=3, sequential, dense',
    params: { neurons: 500, sparks: 3, mode: 'sequential', connectivity: 'dense' },
    peers: ['original'],
  },
  {
    key: 'par4096',
    label: 'N=4096, K=256, parallel, dense',
    params: { neurons: 4096, sparks: 256, mode: 'parallel', connectivity: 'dense' },
    peers: ['original', 'vectorized'],
  },
  {
    key: 'dense16384',
    label: 'N=16384, K=4096, parallel, dense',
    params: { neurons: 16384, sparks: 4096, mode: 'parallel', connectivity: 'dense' },
    peers: ['vectorized'],
  },
  {
    key: 'sparse1m',
    label: 'N=1048576, degree 64, K=65536, parallel, sparse',
    params: { neurons: 1 << 20, sparks: 1 << 16, mode: 'parallel', connectivity: 'sparse', degree: 64 },
    peers: [],
  },
];

/** Edges of a random sparse topology before de-duplication (topology.ts: 2·N·ceil(d/2)), an upper bound on nnz. */
export function edgeBound(p: SparkCase['params']): number {
  return 2 * p.neurons * Math.ceil((p.degree ?? 16) / 2);
}

/** The largest single buffer the network binds: W (dense) or col_idx / twin / W (sparse). */
export function largestBinding(p: SparkCase['params'], nnz?: number): { what: string; bytes: number } {
  if (p.connectivity === 'dense') return { what: 'W', bytes: 4 * p.neurons * p.neurons };
  return { what: 'W, col_idx and twin', bytes: 4 * (nnz ?? edgeBound(p)) };
}

/** Peak host memory of building the network on the CPU backend (the CSR builder's temporaries included). */
export function hostBytes(p: SparkCase['params']): number {
  if (p.connectivity === 'dense') return 4 * p.neurons * p.neurons;
  // topology.ts: src, dst, raw, colIdx, twin (5 words per edge), then the engine's w, col_idx, twin copies.
  return 4 * 8 * edgeBound(p);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${+(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${+(bytes / 2 ** 10).toFixed(1)} KiB`;
}
