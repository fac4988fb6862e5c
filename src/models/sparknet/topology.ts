import { Philox } from '../../engine/rng.js';

/** A symmetric neighbour structure in CSR form, with each edge's transposed twin. */
export interface Topology {
  neurons: number;
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  /** twin[e] is the index of edge (j, i) for edge e = (i, j). */
  twin: Uint32Array;
}

const STREAM_TOPOLOGY = 16;

/** Builds CSR from per-row neighbour lists given as unordered (i, j) pairs, both directions included. */
function fromPairs(n: number, src: Uint32Array, dst: Uint32Array, count: number): Topology {
  const deg = new Uint32Array(n + 1);
  for (let k = 0; k < count; k++) deg[src[k] + 1]++;
  const rowPtr = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) rowPtr[i + 1] = rowPtr[i] + deg[i + 1];
  const fill = rowPtr.slice(0, n);
  const raw = new Uint32Array(count);
  for (let k = 0; k < count; k++) raw[fill[src[k]]++] = dst[k];
  // Sort and de-duplicate each row.
  const colIdx = new Uint32Array(count);
  const out = new Uint32Array(n + 1);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const row = raw.subarray(rowPtr[i], rowPtr[i + 1]).sort();
    out[i] = w;
    for (let k = 0; k < row.length; k++) if (k === 0 || row[k] !== row[k - 1]) colIdx[w++] = row[k];
  }
  out[n] = w;
  const cols = colIdx.slice(0, w);
  return { neurons: n, rowPtr: out, colIdx: cols, twin: twins(out, cols) };
}

/**
 * With a symmetric structure and sorted rows, walking the rows in order meets the edges (i, j) of a
 * column j in increasing i, which is the order of row j's entries: one linear pass finds every twin.
 */
function twins(rowPtr: Uint32Array, colIdx: Uint32Array): Uint32Array {
  const twin = new Uint32Array(colIdx.length);
  const n = rowPtr.length - 1;
  const cursor = rowPtr.slice(0, n);
  for (let i = 0; i < n; i++) {
    for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) twin[e] = cursor[colIdx[e]]++;
  }
  return twin;
}

/**
 * Each neuron draws ceil(degree / 2) partners uniformly (Philox stream 16, so the graph follows the seed),
 * and every pair is made symmetric: degrees average about `degree`.
 */
export function randomTopology(n: number, degree: number, seed: number): Topology {
  const half = Math.ceil(degree / 2);
  const count = 2 * n * half;
  const src = new Uint32Array(count), dst = new Uint32Array(count);
  const rng = new Philox(seed, STREAM_TOPOLOGY);
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < half; t++) {
      const u = rng.uniform(0, i, t & 3, t >> 2);
      let j = Math.min(n - 2, Math.floor(u * (n - 1)));
      if (j >= i) j++;
      src[k] = i; dst[k++] = j;
      src[k] = j; dst[k++] = i;
    }
  }
  return fromPairs(n, src, dst, count);
}

/**
 * Grid-local neighbours: every neuron within Euclidean radius rho on the drawing grid, rho the smallest
 * radius whose disc holds at least `degree` other cells away from the edges (so the structure is symmetric;
 * neurons near the border have fewer neighbours).
 */
export function gridTopology(n: number, degree: number, cols: number): Topology {
  let rho = 1;
  const inDisc = (r: number) => {
    let c = 0;
    const R = Math.ceil(r);
    for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) if ((dx || dy) && dx * dx + dy * dy <= r * r) c++;
    return c;
  };
  while (inDisc(rho) < degree) rho += 0.5;
  const R = Math.ceil(rho);
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = i % cols, y = Math.floor(i / cols);
    for (let dy = -R; dy <= R; dy++) {
      for (let dx = -R; dx <= R; dx++) {
        if ((!dx && !dy) || dx * dx + dy * dy > rho * rho) continue;
        const xx = x + dx, yy = y + dy;
        if (xx < 0 || xx >= cols || yy < 0) continue;
        const j = yy * cols + xx;
        if (j < n) pairs.push(i, j);
      }
    }
  }
  const count = pairs.length / 2;
  const src = new Uint32Array(count), dst = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    src[k] = pairs[2 * k];
    dst[k] = pairs[2 * k + 1];
  }
  return fromPairs(n, src, dst, count);
}
