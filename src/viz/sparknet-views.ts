import { diverging, inferno, viridis } from './colormap.js';
import { Image } from './image.js';

/** What the four views need, read back from a SparkNet snapshot. */
export interface SparkNetFrame {
  neurons: number;
  grid: { rows: number; cols: number };
  s: Float32Array;
  m: Float32Array;
  /** Dense weights (true values, row-major, W[i][j] from j to i), or the stored edges of a sparse net. */
  weights: { dense: Float32Array } | { rowPtr: Uint32Array; colIdx: Uint32Array; values: Float32Array };
  /** Positions [N, 2] of the force layout. */
  positions: Float32Array;
  sparks: Uint32Array;
}

const CELL_TARGET = 500;

function gridImage(frame: SparkNetFrame, value: (i: number) => [number, number, number]): Image {
  const { rows, cols } = frame.grid;
  const cell = Math.max(1, Math.floor(CELL_TARGET / Math.max(rows, cols)));
  const img = new Image(cols * cell, rows * cell, [0, 0, 0]);
  for (let i = 0; i < frame.neurons; i++) img.fillRect((i % cols) * cell, Math.floor(i / cols) * cell, cell, cell, value(i));
  for (const p of frame.sparks) {
    const cx = (p % cols) * cell + cell / 2, cy = Math.floor(p / cols) * cell + cell / 2;
    img.disc(cx, cy, Math.max(1.5, cell / 4), [255, 255, 255]);
  }
  return img;
}

/** Activations on the neuron grid (viridis over [0, 1]); sparks as white dots. */
export function activationView(frame: SparkNetFrame): Image {
  return gridImage(frame, (i) => viridis(frame.s[i]));
}

/** The memory field on the grid (inferno, scaled by its maximum). */
export function memoryView(frame: SparkNetFrame): Image {
  let max = 0;
  for (const v of frame.m) if (v > max) max = v;
  return gridImage(frame, (i) => inferno(max > 0 ? frame.m[i] / max : 0));
}

/** W on a diverging map (blue negative, red positive, scaled by max |W|), block-reduced to at most 512 px. */
export function weightView(frame: SparkNetFrame): Image {
  const n = frame.neurons;
  const side = Math.min(n, 512);
  const block = n / side;
  const acc = new Float32Array(side * side);
  const add = (i: number, j: number, v: number) => {
    const k = Math.floor(i / block) * side + Math.floor(j / block);
    if (Math.abs(v) > Math.abs(acc[k])) acc[k] = v;
  };
  if ('dense' in frame.weights) {
    const w = frame.weights.dense;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) add(i, j, w[i * n + j]);
  } else {
    const { rowPtr, colIdx, values } = frame.weights;
    for (let i = 0; i < n; i++) for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) add(i, colIdx[e], values[e]);
  }
  let max = 0;
  for (const v of acc) max = Math.max(max, Math.abs(v));
  const scale = Math.max(1, Math.floor(512 / side));
  const img = new Image(side * scale, side * scale);
  for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) img.fillRect(j * scale, i * scale, scale, scale, diverging(max > 0 ? acc[i * side + j] / max : 0));
  return img;
}

/** The force layout: edges coloured by weight (the strongest few thousand), nodes by activation. */
export function layoutView(frame: SparkNetFrame, size = 600, maxEdges = 3000): Image {
  const n = frame.neurons;
  const p = frame.positions;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, p[2 * i]); x1 = Math.max(x1, p[2 * i]);
    y0 = Math.min(y0, p[2 * i + 1]); y1 = Math.max(y1, p[2 * i + 1]);
  }
  const span = Math.max(x1 - x0, y1 - y0, 1e-9);
  const margin = 20;
  const px = (i: number) => margin + ((p[2 * i] - x0) / span) * (size - 2 * margin);
  const py = (i: number) => margin + ((p[2 * i + 1] - y0) / span) * (size - 2 * margin);
  const edges: [number, number, number][] = [];
  const consider = (i: number, j: number, v: number) => {
    if (i !== j && v !== 0) edges.push([i, j, v]);
  };
  if ('dense' in frame.weights) {
    const w = frame.weights.dense;
    const stride = Math.max(1, Math.floor((n * n) / (maxEdges * 20)));
    for (let k = 0; k < n * n; k += stride) consider(Math.floor(k / n), k % n, w[k]);
  } else {
    const { rowPtr, colIdx, values } = frame.weights;
    for (let i = 0; i < n; i++) for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) consider(i, colIdx[e], values[e]);
  }
  edges.sort((a, b) => Math.abs(b[2]) - Math.abs(a[2]));
  const shown = edges.slice(0, maxEdges);
  const max = shown.length ? Math.abs(shown[0][2]) : 1;
  const img = new Image(size, size, [250, 250, 250]);
  for (const [i, j, v] of shown.reverse()) img.line(px(j), py(j), px(i), py(i), diverging(v / max), 0.35);
  const r = Math.max(1, Math.min(4, 200 / Math.sqrt(n)));
  for (let i = 0; i < n; i++) img.disc(px(i), py(i), r, viridis(frame.s[i]));
  return img;
}
