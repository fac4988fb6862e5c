import { expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { Tensor } from '../../src/engine/tensor.js';
import { ParameterError, ShapeError } from '../../src/engine/errors.js';
import { Philox, exponential, gumbel, philox4x32, seedKey } from '../../src/engine/rng.js';
import * as sparks from '../../src/kernels/sparks.js';
import { describeEachBackend } from '../support/backends.js';
import { EXACT, type Tolerance, expectClose, testData, tol } from '../support/compare.js';

const f = Math.fround;
const SEED = 12345;
const [KEY0, KEY1] = seedKey(SEED);
const STATE_TOL: Tolerance = { rtol: 1e-5, atol: 1e-6 };
const SAME_CODE_TOL: Tolerance = { rtol: 1e-6, atol: 1e-7 };
// Upper 1e-4 quantile of the standard normal: chi-square bounds below are p = 1e-4 (Wilson-Hilferty).
const Z_1E4 = 3.719;

type Mode = 'sequential' | 'parallel';

/** The CSR structure of sparse nets (columns sorted; twin[e] = the edge (j, i) of edge e = (i, j)). */
interface Graph {
  rowPtr: Uint32Array;
  colIdx: Uint32Array;
  twin: Uint32Array;
}

/** A whole SparkNet state on the host: w dense [N*N] or sparse [nnz]. */
interface Net {
  n: number;
  graph?: Graph;
  wScale: number;
  w: Float32Array;
  s: Float32Array;
  m: Float32Array;
  pos: Uint32Array;
  energy: Float32Array;
  age: Uint32Array;
  visits: Uint32Array;
  respawns: number;
}

type Params = sparks.SparkStepParams;

function params(step: number, wScale: number, over: Partial<Params> = {}): Params {
  return { seed: SEED, step, wScale, ...sparks.SPARK_STEP_DEFAULTS, ...over };
}

function graphFromAdjacency(n: number, adjacent: (i: number, j: number) => boolean): Graph {
  const rows: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter((j) => adjacent(i, j)));
  const rowPtr = Uint32Array.from([0, ...rows.map((_, i) => rows.slice(0, i + 1).reduce((a, r) => a + r.length, 0))]);
  const colIdx = Uint32Array.from(rows.flat());
  const twin = new Uint32Array(colIdx.length);
  rows.forEach((r, i) => r.forEach((j, c) => (twin[rowPtr[i] + c] = rowPtr[j] + rows[j].indexOf(i))));
  return { rowPtr, colIdx, twin };
}

/** Symmetric random neighbours (with some self-loops); neuron n-1 is isolated. */
function randomGraph(n: number, seed: number): Graph {
  const r = testData(n * n, seed, 0, 1);
  return graphFromAdjacency(n, (i, j) => i !== n - 1 && j !== n - 1 && r[Math.min(i, j) * n + Math.max(i, j)] < 0.2);
}

const completeGraph = (n: number) => graphFromAdjacency(n, () => true);

function newNet(n: number, k: number, seed: number, graph?: Graph): Net {
  const size = graph ? graph.colIdx.length : n * n;
  const w = testData(size, seed, -0.3, 0.3);
  const pos = Uint32Array.from({ length: k }, (_, i) => (i * 7 + seed) % n);
  return {
    n, graph, wScale: 1, w, s: new Float32Array(n), m: new Float32Array(n), pos, energy: new Float32Array(k).fill(1),
    age: new Uint32Array(k), visits: new Uint32Array(n), respawns: 0,
  };
}

function cloneNet(net: Net): Net {
  return { ...net, w: net.w.slice(), s: net.s.slice(), m: net.m.slice(), pos: net.pos.slice(), energy: net.energy.slice(), age: net.age.slice(), visits: net.visits.slice() };
}

/** Dense weights of a net on the complete graph (for sparse-vs-dense comparisons). */
function denseOf(net: Net): Float32Array {
  if (!net.graph) return net.w;
  const out = new Float32Array(net.n * net.n);
  const { rowPtr, colIdx } = net.graph;
  for (let i = 0; i < net.n; i++) for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) out[i * net.n + colIdx[e]] = net.w[e];
  return out;
}

/** Candidates of row `prev`: [neuron j, weight index]. */
function candidates(net: Net, prev: number): [number, number][] {
  if (!net.graph) return Array.from({ length: net.n }, (_, j) => [j, prev * net.n + j]);
  const { rowPtr, colIdx } = net.graph;
  const out: [number, number][] = [];
  for (let e = rowPtr[prev]; e < rowPtr[prev + 1]; e++) out.push([colIdx[e], e]);
  return out;
}

/** The weight entry W[next][prev] a move prev -> next learns, or -1 (sparse: no such edge). */
function learnedEntry(net: Net, prev: number, next: number): number {
  if (!net.graph) return next * net.n + prev;
  const e = candidates(net, prev).find(([j]) => j === next);
  return e ? net.graph.twin[e[1]] : -1;
}

// ---- the reference: SCIENCE.md §1 as written, in f64 where the formula is --------------------------

function word(index: number, block: number, step: number, stream: number, lane = 0): number {
  return philox4x32(index, block, step, stream, KEY0, KEY1)[lane];
}
const u01 = (bits: number) => (bits >>> 8) / 2 ** 24;
const uOpen = (bits: number) => ((bits >>> 8) | 1) / 2 ** 24;
const uniformPick = (u: number, n: number) => Math.min(Math.floor(f(u * n)), n - 1);

/** Step-1-3 driver: s <- sigmoid(wScale·W·(0.95 s) + 0.05 xi); M <- 0.92 M; forced sparks s[pos] = 1. */
function drive(net: Net, step: number): void {
  const noise = new Philox(SEED, 1);
  const decayed = net.s.map((v) => 0.95 * v);
  for (let i = 0; i < net.n; i++) {
    let x = 0;
    for (const [j, e] of candidates(net, i)) x += net.w[e] * decayed[j];
    net.s[i] = 1 / (1 + Math.exp(-(net.wScale * x + 0.05 * noise.normal(step, i))));
    net.m[i] = 0.92 * net.m[i];
  }
  net.pos.forEach((p, k) => { if (net.age[k] < 5) net.s[p] = 1; });
}

function refChoose(net: Net, p: Params, k: number): number {
  const prev = net.pos[k];
  if (u01(word(k, 0, p.step, 2)) < p.explore) return uniformPick(u01(word(k, 0, p.step, 2, 1)), net.n);
  let best = -Infinity, next = prev;
  for (const [j, e] of candidates(net, prev)) {
    const logit = (Math.max(net.wScale * net.w[e], 0) + 1e-6) / p.temperature + p.memBias * net.m[j];
    const score = logit - Math.log(-Math.log(uOpen(word(j, k, p.step, 3))));
    if (score > best) { best = score; next = j; }
  }
  return next;
}

function refRespawnTarget(net: Net, p: Params, k: number): number {
  const u = u01(word(k, 0, p.step, 4));
  if (net.m.every((v) => v === 0)) return uniformPick(u, net.n);
  const top = Math.max(...net.m);
  const q = Array.from(net.m, (v) => Math.exp(p.respawnGain * (v - top)));
  const threshold = u * q.reduce((a, b) => a + b, 0);
  let run = 0;
  for (let j = 0; j < net.n; j++) if ((run += q[j]) > threshold) return j;
  return net.n - 1;
}

function refRespawn(net: Net, p: Params, k: number): void {
  if (!(net.energy[k] < p.minEnergy)) return;
  net.pos[k] = refRespawnTarget(net, p, k);
  net.energy[k] = 1;
  net.age[k] = 0;
  net.respawns++;
}

/** c EMA steps toward s[prev] on the true weight: (1-lr)^c·W + (1-(1-lr)^c)·s. */
function refLearn(net: Net, p: Params, entry: number, prev: number, c: number): void {
  const d = (1 - p.lrEdge) ** c;
  net.w[entry] = (d * net.wScale * net.w[entry] + (1 - d) * net.s[prev]) / net.wScale;
}

function refSequential(net: Net, p: Params): void {
  for (let k = 0; k < net.pos.length; k++) {
    const prev = net.pos[k];
    const next = refChoose(net, p, k);
    const entry = learnedEntry(net, prev, next);
    if (entry >= 0) refLearn(net, p, entry, prev, 1);
    net.pos[k] = next;
    net.m[next] += p.memDeposit;
    net.energy[k] *= p.energyDecay;
    net.s[next] = net.energy[k];
    net.age[k]++;
    net.visits[next]++;
    refRespawn(net, p, k);
  }
}

/** Parallel semantics; returns the most crossings of one edge. */
function refParallel(net: Net, p: Params): number {
  const nexts = Array.from(net.pos, (_, k) => refChoose(net, p, k));
  const crossed = new Map<number, { c: number; prev: number }>();
  const arrivals = new Uint32Array(net.n);
  const top = new Float32Array(net.n);
  nexts.forEach((next, k) => {
    const entry = learnedEntry(net, net.pos[k], next);
    if (entry >= 0) crossed.set(entry, { c: (crossed.get(entry)?.c ?? 0) + 1, prev: net.pos[k] });
    net.pos[k] = next;
    net.energy[k] *= p.energyDecay;
    net.age[k]++;
    arrivals[next]++;
    top[next] = Math.max(top[next], net.energy[k]);
  });
  for (const [entry, { c, prev }] of crossed) refLearn(net, p, entry, prev, c);
  for (let i = 0; i < net.n; i++) {
    if (arrivals[i] === 0) continue;
    net.m[i] += arrivals[i] * p.memDeposit;
    net.s[i] = top[i];
    net.visits[i] += arrivals[i];
  }
  net.pos.forEach((_, k) => refRespawn(net, p, k));
  return Math.max(0, ...Array.from(crossed.values(), (v) => v.c));
}

// ---- the engine side ---------------------------------------------------------------------------

interface OnEngine {
  weights: sparks.SparkWeights;
  state: sparks.SparkState;
  scratch: sparks.SparkScratch;
}

function upload(e: Engine, net: Net): OnEngine {
  const w = e.tensor(net.w);
  const weights: sparks.SparkWeights = net.graph
    ? { kind: 'sparse', w, rowPtr: e.tensor(net.graph.rowPtr), colIdx: e.tensor(net.graph.colIdx), twin: e.tensor(net.graph.twin) }
    : { kind: 'dense', w };
  const state: sparks.SparkState = {
    s: e.tensor(net.s), m: e.tensor(net.m), pos: e.tensor(net.pos), energy: e.tensor(net.energy), age: e.tensor(net.age),
    visits: e.tensor(net.visits), respawns: e.tensor(Uint32Array.of(net.respawns)),
  };
  return { weights, state, scratch: sparks.createSparkScratch(e, net.n, net.pos.length) };
}

/** Reads the engine's state into `net` (keeping its graph and wScale). */
async function download(e: Engine, t: OnEngine, net: Net): Promise<Net> {
  const read = (x: Tensor) => e.read(x);
  return {
    ...net,
    w: (await read(t.weights.w)) as Float32Array,
    s: (await read(t.state.s)) as Float32Array,
    m: (await read(t.state.m)) as Float32Array,
    pos: (await read(t.state.pos)) as Uint32Array,
    energy: (await read(t.state.energy)) as Float32Array,
    age: (await read(t.state.age)) as Uint32Array,
    visits: (await read(t.state.visits)) as Uint32Array,
    respawns: (await read(t.state.respawns))[0],
  };
}

function dispose(t: OnEngine): void {
  for (const x of [...Object.values(t.weights), ...Object.values(t.state), ...Object.values(t.scratch)]) if (typeof x === 'object') x.dispose();
}

function engineStep(e: Engine, t: OnEngine, mode: Mode, p: Params): void {
  if (mode === 'sequential') sparks.sequentialSparkStep(e, t.weights, t.state, p);
  else sparks.parallelSparkStep(e, t.weights, t.state, t.scratch, p);
}

/** Runs `steps` full steps (driver 1-3 on the host, step 4 on the engine, global decay in wScale). */
async function runEngine(e: Engine, start: Net, mode: Mode, steps: number, over: Partial<Params> = {}): Promise<{ net: Net; path: number[][] }> {
  const t = upload(e, start);
  let net = cloneNet(start);
  const path: number[][] = [];
  for (let step = 0; step < steps; step++) {
    drive(net, step);
    e.write(t.state.s, net.s);
    e.write(t.state.m, net.m);
    engineStep(e, t, mode, params(step, net.wScale, over));
    net = await download(e, t, net);
    net.wScale = f(net.wScale * 0.999);
    path.push(Array.from(net.pos));
  }
  dispose(t);
  return { net, path };
}

function runReference(start: Net, mode: Mode, steps: number, over: Partial<Params> = {}): { net: Net; path: number[][]; maxCrossings: number } {
  const net = cloneNet(start);
  const path: number[][] = [];
  let maxCrossings = 0;
  for (let step = 0; step < steps; step++) {
    drive(net, step);
    const p = params(step, net.wScale, over);
    if (mode === 'sequential') refSequential(net, p);
    else maxCrossings = Math.max(maxCrossings, refParallel(net, p));
    net.wScale = f(net.wScale * 0.999);
    path.push(Array.from(net.pos));
  }
  return { net, path, maxCrossings };
}

function expectSamePaths(actual: number[][], expected: number[][], label: string): void {
  const first = actual.findIndex((pos, step) => pos.join() !== expected[step].join());
  expect(first, `${label}: first step where positions differ (${actual[first]} vs ${expected[first]})`).toBe(-1);
}

function expectSameState(actual: Net, expected: Net, t: Tolerance, label: string): void {
  expectClose(denseOf(actual), denseOf(expected), t, `${label} W`);
  expectClose(actual.m, expected.m, t, `${label} M`);
  expectClose(actual.s, expected.s, t, `${label} s`);
  expectClose(actual.energy, expected.energy, t, `${label} energy`);
  expect(Array.from(actual.age), `${label} age`).toEqual(Array.from(expected.age));
  expect(Array.from(actual.visits), `${label} visits`).toEqual(Array.from(expected.visits));
  expect(actual.respawns, `${label} respawns`).toBe(expected.respawns);
}

// ---- statistics --------------------------------------------------------------------------------

function chiSquare(counts: ArrayLike<number>, probs: ArrayLike<number>): number {
  const total = Array.from(counts).reduce((a, b) => a + b, 0);
  let x2 = 0;
  for (let i = 0; i < probs.length; i++) x2 += (counts[i] - total * probs[i]) ** 2 / (total * probs[i]);
  return x2;
}

/** The chi-square value exceeded with probability 1e-4 (Wilson-Hilferty). */
function chiSquareBound(df: number): number {
  const a = 2 / (9 * df);
  return df * (1 - a + Z_1E4 * Math.sqrt(a)) ** 3;
}

function softmax(logits: number[]): number[] {
  const top = Math.max(...logits);
  const ex = logits.map((v) => Math.exp(v - top));
  const total = ex.reduce((a, b) => a + b, 0);
  return ex.map((v) => v / total);
}

/** A state whose movement distribution does not depend on the position: all rows of W alike. */
function fixedStateNet(n: number, graph?: Graph): Net {
  const net = newNet(n, n, 3, graph);
  const a = testData(n, 77, -0.2, 0.5);
  if (graph) graph.colIdx.forEach((j, e) => (net.w[e] = a[j]));
  else for (let i = 0; i < n * n; i++) net.w[i] = a[i % n];
  net.m = testData(n, 78, 0, 1.5);
  return net;
}

/** Counts the positions after each of `steps` steps on the engine (no driver: the state is fixed). */
async function countPositions(e: Engine, net: Net, mode: Mode, steps: number, over: Partial<Params>): Promise<number[]> {
  const t = upload(e, net);
  const counts = new Array<number>(net.n).fill(0);
  for (let step = 0; step < steps; step++) {
    engineStep(e, t, mode, params(step, 1, over));
    for (const p of await e.read(t.state.pos)) counts[p]++;
  }
  dispose(t);
  return counts;
}

// No learning, no deposits, no energy loss, no respawn: W, M and the distribution stay put.
const FROZEN: Partial<Params> = { lrEdge: 0, memDeposit: 0, energyDecay: 1, minEnergy: 0 };

describeEachBackend('sparks', (engine) => {
  it('rng helpers: exponential within 3e-7 relative of -log(u) in f64, gumbel finite at the extreme words', () => {
    const words = [0, 1, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xfffffeff, 0xffffffff, ...Array.from({ length: 4096 }, (_, i) => Math.imul(i, 0x9e3779b1) >>> 0)];
    for (const b of words) {
      const exact = -Math.log(uOpen(b));
      expect(Math.abs(exponential(b) - exact) / exact, `word ${b}`).toBeLessThan(3e-7);
      expect(Number.isFinite(gumbel(b))).toBe(true);
    }
  });

  it(`sequential dense vs the SCIENCE.md §1 reference, 300 steps, N = 40, K = 3, defaults: same positions every step, state within ${tol(STATE_TOL)}`, async () => {
    const start = newNet(40, 3, 1);
    const ref = runReference(start, 'sequential', 300);
    const got = await runEngine(engine(), start, 'sequential', 300);
    expect(ref.net.respawns, 'the run exercises respawns').toBeGreaterThan(2);
    expectSamePaths(got.path, ref.path, 'sequential dense');
    expectSameState(got.net, ref.net, STATE_TOL, 'sequential dense');
  });

  it(`sequential sparse vs the reference, 150 steps, N = 30 random symmetric (an isolated neuron), K = 4, explore 0.3 (jumps to non-neighbours learn nothing): same positions, state within ${tol(STATE_TOL)}`, async () => {
    const start = newNet(30, 4, 2, randomGraph(30, 5));
    const over = { explore: 0.3 };
    const ref = runReference(start, 'sequential', 150, over);
    const got = await runEngine(engine(), start, 'sequential', 150, over);
    expectSamePaths(got.path, ref.path, 'sequential sparse');
    expectSameState(got.net, ref.net, STATE_TOL, 'sequential sparse');
  });

  for (const kind of ['dense', 'sparse'] as const) {
    it(`parallel ${kind} vs the reference's order-free semantics, 100 steps, N = 40, K = 12 (edges crossed by several sparks): same positions, state within ${tol(STATE_TOL)}`, async () => {
      const start = newNet(40, 12, 3, kind === 'sparse' ? randomGraph(40, 6) : undefined);
      const over = { temperature: 0.1, energyDecay: 0.97 };
      const ref = runReference(start, 'parallel', 100, over);
      const got = await runEngine(engine(), start, 'parallel', 100, over);
      expect(ref.maxCrossings, 'some edge is crossed by several sparks in one step').toBeGreaterThan(1);
      expectSamePaths(got.path, ref.path, `parallel ${kind}`);
      expectSameState(got.net, ref.net, STATE_TOL, `parallel ${kind}`);
    });
  }

  it(`parallel with K = 1 equals sequential, 200 steps, dense N = 40 and sparse N = 30 (${tol(SAME_CODE_TOL)})`, async () => {
    for (const start of [newNet(40, 1, 4), newNet(30, 1, 5, randomGraph(30, 7))]) {
      const over = { energyDecay: 0.97, explore: 0.2 };
      const seq = await runEngine(engine(), start, 'sequential', 200, over);
      const par = await runEngine(engine(), start, 'parallel', 200, over);
      expect(seq.net.respawns).toBeGreaterThan(0);
      expectSamePaths(par.path, seq.path, 'K = 1');
      expectSameState(par.net, seq.net, SAME_CODE_TOL, 'K = 1');
    }
  });

  it('an edge crossed by c = 1..5 sparks in one parallel step: c EMA updates in closed form (rtol 1e-6), M += c·deposit, s = largest arriving energy, visits += c, scratch left zero; sequential agrees', async () => {
    const e = engine();
    const n = 8, prev = 2, next = 5;
    for (const graph of [undefined, completeGraph(n)]) {
      for (let c = 1; c <= 5; c++) {
        const net = newNet(n, c, 9, graph);
        net.pos.fill(prev);
        net.energy = Float32Array.from({ length: c }, (_, k) => 0.5 + 0.1 * ((k * 3) % 5));
        net.s = testData(n, 10, 0.1, 0.9);
        net.m = testData(n, 11, 0, 0.5);
        net.wScale = 0.75;
        const strong = candidates(net, prev).find(([j]) => j === next)![1];
        net.w[strong] = 1;
        const p = params(c, net.wScale, { temperature: 1e-3, explore: 0, lrEdge: 0.2, energyDecay: 0.9 });
        const entry = learnedEntry(net, prev, next);
        let expected = net.wScale * net.w[entry];
        for (let i = 0; i < c; i++) expected = (1 - p.lrEdge) * expected + p.lrEdge * net.s[prev];
        for (const mode of ['parallel', 'sequential'] as const) {
          const t = upload(e, net);
          engineStep(e, t, mode, p);
          const after = await download(e, t, net);
          const label = `${graph ? 'sparse' : 'dense'} c=${c} ${mode}`;
          expect(Array.from(after.pos), label).toEqual(new Array(c).fill(next));
          expectClose([after.wScale * after.w[entry]], [expected], { rtol: 1e-6, atol: 0 }, `${label} W[next][prev]`);
          const untouched = Array.from(after.w).map((v, i) => (i === entry ? net.w[i] : v));
          expect(untouched, `${label} other weights`).toEqual(Array.from(net.w));
          expectClose([after.m[next]], [net.m[next] + c * p.memDeposit], { rtol: 1e-6, atol: 0 }, `${label} M[next]`);
          expect(after.s[next], `${label} s[next]`).toBe(mode === 'parallel' ? Math.max(...after.energy) : after.energy[c - 1]);
          expect(after.visits[next], label).toBe(c);
          for (const x of Object.values(t.scratch)) expect((await e.read(x)).every((v) => v === 0), `${label} scratch`).toBe(true);
          dispose(t);
        }
      }
    }
  });

  it(`movement frequencies match softmax((relu(W[prev]) + 1e-6)/T + bias·M): 20480 parallel dense draws and 4096 sequential sparse draws, explore = 0, N = 64 (chi-square p > 1e-4, df 63)`, async () => {
    const n = 64;
    for (const [mode, graph, steps] of [['parallel', undefined, 320], ['sequential', completeGraph(n), 64]] as const) {
      const net = fixedStateNet(n, graph);
      const counts = await countPositions(engine(), net, mode, steps, { ...FROZEN, explore: 0 });
      const a = candidates(net, 0).map(([, e]) => net.w[e]);
      const probs = softmax(a.map((w, j) => (Math.max(w, 0) + 1e-6) / 0.3 + 0.8 * net.m[j]));
      expect(chiSquare(counts, probs), `${mode}: counts ${counts}`).toBeLessThan(chiSquareBound(n - 1));
      expect(chiSquare(counts, new Array(n).fill(1 / n)), `${mode}: the test tells the distribution from uniform`).toBeGreaterThan(4 * chiSquareBound(n - 1));
    }
  });

  it('explore = 1: every move is the uniform jump floor(u·N) of the EXPLORE stream; 20480 targets uniform (chi-square p > 1e-4, df 63)', async () => {
    const e = engine();
    const net = fixedStateNet(64);
    const t = upload(e, net);
    const counts = new Array<number>(64).fill(0);
    for (let step = 0; step < 320; step++) {
      engineStep(e, t, 'parallel', params(step, 1, { ...FROZEN, explore: 1 }));
      const pos = await e.read(t.state.pos);
      const expected = Array.from({ length: 64 }, (_, k) => uniformPick(u01(word(k, 0, step, 2, 1)), 64));
      expect(Array.from(pos), `step ${step}`).toEqual(expected);
      for (const p of pos) counts[p]++;
    }
    dispose(t);
    expect(chiSquare(counts, new Array(64).fill(1 / 64))).toBeLessThan(chiSquareBound(63));
  });

  it('respawn frequencies match softmax(2·M) over 20480 parallel and 4096 sequential draws, and are the uniform floor(u·N) when M = 0 (chi-square p > 1e-4, df 63)', async () => {
    const e = engine();
    const n = 64;
    for (const zero of [false, true]) {
      const net = fixedStateNet(n);
      if (zero) net.m.fill(0);
      const probs = zero ? new Array(n).fill(1 / n) : softmax(Array.from(net.m, (v) => 2 * v));
      // energyDecay 0: every spark respawns after every move; explore 1 keeps the moves cheap.
      const respawnAll = { ...FROZEN, explore: 1, energyDecay: 0, minEnergy: 0.5 };
      const par = await countPositions(e, net, 'parallel', 320, respawnAll);
      const seq = await countPositions(e, net, 'sequential', 64, respawnAll);
      for (const [label, counts] of [['parallel', par], ['sequential', seq]] as const) {
        expect(chiSquare(counts, probs), `${label} zero=${zero}: ${counts}`).toBeLessThan(chiSquareBound(n - 1));
      }
      if (zero) {
        const t = upload(e, net);
        engineStep(e, t, 'parallel', params(7, 1, respawnAll));
        const expected = Array.from({ length: n }, (_, k) => uniformPick(u01(word(k, 0, 7, 4)), n));
        expect(Array.from(await e.read(t.state.pos))).toEqual(expected);
        dispose(t);
      } else {
        expect(chiSquare(par, new Array(n).fill(1 / n)), 'the test tells softmax(2M) from uniform').toBeGreaterThan(4 * chiSquareBound(n - 1));
      }
    }
  });

  it(`sparse on the complete graph equals dense: 100 sequential and 100 parallel steps, N = 24, K = 4 (${tol(SAME_CODE_TOL)})`, async () => {
    for (const mode of ['sequential', 'parallel'] as const) {
      const dense = newNet(24, 4, 8);
      const sparse = { ...cloneNet(dense), graph: completeGraph(24) };
      const over = { explore: 0.2, energyDecay: 0.96 };
      const a = await runEngine(engine(), dense, mode, 100, over);
      const b = await runEngine(engine(), sparse, mode, 100, over);
      expectSamePaths(b.path, a.path, `${mode} sparse vs dense`);
      expectSameState(b.net, a.net, SAME_CODE_TOL, `${mode} sparse vs dense`);
    }
  });

  it('deterministic: reruns are bit-identical (parallel K = N = 48 dense and sparse, sequential K = 8; 30 steps)', async () => {
    const e = engine();
    const cases: [Net, Mode][] = [[newNet(48, 48, 12), 'parallel'], [newNet(48, 48, 13, randomGraph(48, 3)), 'parallel'], [newNet(48, 8, 14), 'sequential']];
    for (const [start, mode] of cases) {
      const runs = [await runEngine(e, start, mode, 30, { temperature: 0.05 }), await runEngine(e, start, mode, 30, { temperature: 0.05 })];
      expectSamePaths(runs[1].path, runs[0].path, `${mode} rerun`);
      expectSameState(runs[1].net, runs[0].net, EXACT, `${mode} rerun`);
    }
  });

  it('rejects bad arguments before any work: K > N, K = 0, NaN parameters, T <= 0, explore outside [0, 1], bad shapes and dtypes', async () => {
    const e = engine();
    const net = newNet(10, 3, 1);
    const t = upload(e, net);
    const ok = params(0, 1);
    const bad: [Partial<Params>, RegExp][] = [
      [{ lrEdge: NaN }, /lrEdge/], [{ memBias: NaN }, /memBias/], [{ temperature: 0 }, /temperature/], [{ temperature: -1 }, /temperature/],
      [{ temperature: 1e-45 }, /temperature/], [{ explore: -0.1 }, /explore/], [{ explore: 1.5 }, /explore/], [{ energyDecay: 2 }, /energyDecay/],
      [{ minEnergy: NaN }, /minEnergy/], [{ respawnGain: -1 }, /respawnGain/], [{ wScale: 0 }, /wScale/], [{ step: -1 }, /step/],
      [{ step: 1.5 }, /step/], [{ seed: -1 }, /seed/], [{ memDeposit: Infinity }, /memDeposit/],
    ];
    for (const [over, message] of bad) {
      expect(() => sparks.sequentialSparkStep(e, t.weights, t.state, { ...ok, ...over })).toThrow(ParameterError);
      expect(() => sparks.parallelSparkStep(e, t.weights, t.state, t.scratch, { ...ok, ...over })).toThrow(message);
    }
    const tooMany = { ...t.state, pos: e.tensor(new Uint32Array(11)), energy: e.zeros([11]), age: e.zeros([11], 'u32') };
    expect(() => sparks.sequentialSparkStep(e, t.weights, tooMany, ok)).toThrow(/at most N = 10 sparks/);
    const none = { ...t.state, pos: e.zeros([0], 'u32'), energy: e.zeros([0]), age: e.zeros([0], 'u32') };
    expect(() => sparks.parallelSparkStep(e, t.weights, none, t.scratch, ok)).toThrow(/at least 1 spark/);
    expect(() => sparks.sequentialSparkStep(e, { kind: 'dense', w: e.zeros([99]) }, t.state, ok)).toThrow(ShapeError);
    expect(() => sparks.sequentialSparkStep(e, t.weights, { ...t.state, pos: e.zeros([3]) }, ok)).toThrow(/expected u32/);
    expect(() => sparks.parallelSparkStep(e, t.weights, t.state, { ...t.scratch, edgeTable: e.zeros([4], 'u32') }, ok)).toThrow(/edgeTable/);
    expect(() => sparks.parallelSparkRespawn(e, t.weights, t.state, e.zeros([9]), ok)).toThrow(/cdf/);
    expect(() => sparks.respawnCdf(e, t.state.m, NaN)).toThrow(/respawnGain/);
    const after = await download(e, t, net);
    expectSameState(after, net, EXACT, 'untouched');
    expect(Array.from(after.pos)).toEqual(Array.from(net.pos));
    dispose(t);
  });
});
