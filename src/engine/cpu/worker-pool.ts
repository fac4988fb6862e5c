// Row-parallel tasks for the CPU backend: the caller's thread and a small pool of Node worker_threads
// split [0, rows) in chunks over shared memory. The caller blocks (Atomics.wait) until every chunk is
// done, so kernels stay synchronous. Without worker_threads (browsers) every task runs in the caller.
import type { Worker } from 'node:worker_threads';

/** Computes rows [start, end) of the problem that `args` describes. */
export type RowFunction<A> = (args: A, start: number, end: number) => void;

type AnyFunction = (...args: never[]) => unknown;

export interface RowTask<A> {
  readonly name: string;
  readonly run: RowFunction<A>;
  /** Source text that declares `run` and its helpers and returns `run`: how workers get the code. */
  readonly source: string;
}

/**
 * A task for runRows, under a name unique in the process. `run` and `helpers` (function declarations) reach
 * the workers as source text, so they may use only their parameters, globals and each other: no imports
 * and no module constants.
 */
export function defineRowTask<A>(name: string, run: RowFunction<A>, helpers: readonly AnyFunction[] = []): RowTask<A> {
  return { name, run, source: `${declarations([run, ...helpers])}\nreturn ${run.name};` };
}

function declarations(functions: readonly AnyFunction[]): string {
  return functions.map((f) => `const ${f.name} = ${f.toString()};`).join('\n');
}

/** Work (multiply-adds or the like) below which another thread costs more than it saves. */
const MIN_WORK_PER_THREAD = 2 ** 20;
/** Chunks per thread at least: threads claim chunks as they go, so a slow thread does fewer. */
const CHUNKS_PER_THREAD = 4;
/** Work per chunk at most, where rows allow: small chunks keep a descheduled thread from holding up the end. */
const MAX_WORK_PER_CHUNK = 2 ** 22;
/** Scratch buffers up to this size are kept for the next call; larger ones are left to the GC. */
const RETAINED_SCRATCH_BYTES = 2 ** 24;

// A run's control block, an Int32Array over a SharedArrayBuffer: [0] the next chunk to claim, [1] chunks
// finished, [2] 1 once a chunk failed, [3] chunks finished by workers, [4..] the first failure's message.
const CONTROL_WORDS = 4 + 1024;

function claimChunk(control: Int32Array): number {
  return Atomics.add(control, 0, 1);
}

function finishChunk(control: Int32Array, chunks: number, inWorker: boolean): void {
  if (inWorker) Atomics.add(control, 3, 1);
  if (Atomics.add(control, 1, 1) + 1 === chunks) Atomics.notify(control, 1);
}

function recordFailure(control: Int32Array, error: unknown): void {
  if (Atomics.compareExchange(control, 2, 0, 1) !== 0) return;
  const text = String((error as Error)?.stack ?? error).slice(0, control.length - 5);
  for (let i = 0; i < text.length; i++) control[4 + i] = text.charCodeAt(i);
}

/** Runs chunks until none is left; returns the first error thrown here (also recorded in `control`). */
function runClaimedChunks<A>(run: RowFunction<A>, args: A, control: Int32Array, rows: number, rowsPerChunk: number, inWorker: boolean): unknown {
  const chunks = Math.ceil(rows / rowsPerChunk);
  let firstError: unknown;
  for (let chunk = claimChunk(control); chunk < chunks; chunk = claimChunk(control)) {
    const start = chunk * rowsPerChunk;
    try {
      run(args, start, Math.min(start + rowsPerChunk, rows));
    } catch (e) {
      firstError ??= e;
      recordFailure(control, e);
    }
    finishChunk(control, chunks, inWorker);
  }
  return firstError;
}

type WorkerMessage =
  | { define: string; source: string }
  | { run: string; args: unknown; control: Int32Array; rows: number; rowsPerChunk: number };

/** A worker's whole life: define tasks, then claim chunks of each run it is told about. */
function workerLoop(port: { on(event: 'message', listener: (m: WorkerMessage) => void): void }): void {
  const tasks = new Map<string, RowFunction<unknown>>();
  port.on('message', (m) => {
    if ('define' in m) tasks.set(m.define, new Function(m.source)());
    else runClaimedChunks(tasks.get(m.run) as RowFunction<unknown>, m.args, m.control, m.rows, m.rowsPerChunk, true);
  });
}

function workerSource(): string {
  const helpers = [claimChunk, finishChunk, recordFailure, runClaimedChunks, workerLoop];
  return `const { parentPort } = require('node:worker_threads');\n${declarations(helpers)}\n${workerLoop.name}(parentPort);`;
}

interface PoolWorker {
  worker: Worker;
  tasks: Set<string>;
  online: Promise<void>;
}

interface NodeThreading {
  Worker: typeof Worker;
  cores: number;
}

const pool = {
  workers: [] as PoolWorker[],
  /** Set by setWorkerPoolSize; null: the default. */
  size: null as number | null,
  users: 0,
  scratch: new Map<string, Float32Array>(),
  chunksByWorkers: 0,
  threading: undefined as NodeThreading | null | undefined,
};

/** worker_threads and shared memory, or null where they are missing (browsers, Node before 20.16). */
function nodeThreading(): NodeThreading | null {
  if (pool.threading !== undefined) return pool.threading;
  pool.threading = null;
  if (typeof SharedArrayBuffer === 'undefined' || typeof process === 'undefined' || typeof process.getBuiltinModule !== 'function') return null;
  const threads = process.getBuiltinModule('node:worker_threads');
  const os = process.getBuiltinModule('node:os');
  if (!threads?.Worker || !os) return null;
  pool.threading = { Worker: threads.Worker, cores: os.availableParallelism() };
  return pool.threading;
}

/** How many workers tasks may use: min(cores - 1, 7) unless setWorkerPoolSize said otherwise. */
export function workerPoolSize(): number {
  const threading = nodeThreading();
  if (!threading) return 0;
  return pool.size ?? Math.max(0, Math.min(threading.cores - 1, 7));
}

/** Sets how many workers tasks may use (0: every task runs in the caller's thread); no argument restores the default. */
export function setWorkerPoolSize(workers?: number): void {
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new RangeError(`worker pool size ${workers}: an integer >= 0`);
  pool.size = workers ?? null;
  const keep = workerPoolSize();
  for (const w of pool.workers.slice(keep)) stopWorker(w);
}

/** Allocates `bytes` of memory the workers can share: a SharedArrayBuffer where one exists. */
export function allocateShareable(bytes: number): ArrayBufferLike {
  return typeof SharedArrayBuffer !== 'undefined' ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/**
 * `data` itself when the workers can read it, else a copy in shareable scratch `slot`. Tensor storage
 * stays in plain ArrayBuffers, which exist everywhere (a browser page without cross-origin isolation has
 * no SharedArrayBuffer), so a threaded twin copies its operands in: O(size) beside the O(work) it splits.
 */
export function shareable(data: Float32Array, slot: string): Float32Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const copy = sharedScratch(slot, data.length);
  copy.set(data);
  return copy;
}

/** Whether `work` is large enough for runRows to use other threads at all. */
export function worthThreads(work: number): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && workerPoolSize() > 0 && work >= 2 * MIN_WORK_PER_THREAD;
}

/** `length` floats of shareable scratch memory for `slot`, reused by later calls (contents unspecified). */
export function sharedScratch(slot: string, length: number): Float32Array {
  const kept = pool.scratch.get(slot);
  if (kept && kept.length >= length) return kept.subarray(0, length);
  const fresh = new Float32Array(allocateShareable(length * 4));
  if (length * 4 <= RETAINED_SCRATCH_BYTES) pool.scratch.set(slot, fresh);
  return fresh;
}

export interface RowsOptions {
  /** The cost of all rows in multiply-adds (or the time of as many): threads start at 2^21. */
  work: number;
  /** Chunks start at multiples of this many rows (default 1). */
  granule?: number;
}

/**
 * Runs `task` over rows [0, rows): in the caller's thread alone when the work is small, the pool is empty
 * or an array in `args` is not shared memory, else split in chunks between the caller and the workers.
 * Returns when every row is done; throws the first error of any chunk.
 */
export function runRows<A extends object>(task: RowTask<A>, args: A, rows: number, { work, granule = 1 }: RowsOptions): void {
  const threads = Math.min(Math.ceil(rows / granule), Math.floor(work / MIN_WORK_PER_THREAD), 1 + workerPoolSize());
  const workers = threads > 1 && sharesAllArrays(args) ? availableWorkers(threads - 1) : [];
  if (workers.length === 0) {
    task.run(args, 0, rows);
    return;
  }
  const chunks = Math.max((workers.length + 1) * CHUNKS_PER_THREAD, Math.ceil(work / MAX_WORK_PER_CHUNK));
  runSplit(task, args, rows, granule * Math.ceil(rows / granule / chunks), workers);
}

function sharesAllArrays(args: object): boolean {
  return Object.values(args).every((v) => !ArrayBuffer.isView(v) || v.buffer instanceof SharedArrayBuffer);
}

function runSplit<A>(task: RowTask<A>, args: A, rows: number, rowsPerChunk: number, workers: PoolWorker[]): void {
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
  for (const w of workers) post(w, task, { run: task.name, args, control, rows, rowsPerChunk });
  const ownError = runClaimedChunks(task.run, args, control, rows, rowsPerChunk, false);
  waitForChunks(control, Math.ceil(rows / rowsPerChunk));
  pool.chunksByWorkers += control[3];
  if (ownError !== undefined) throw ownError;
  if (control[2] !== 0) throw new Error(`${task.name} failed in a CPU worker: ${failureMessage(control)}`);
}

function post<A>(w: PoolWorker, task: RowTask<A>, message: WorkerMessage): void {
  if (!w.tasks.has(task.name)) {
    w.worker.postMessage({ define: task.name, source: task.source } satisfies WorkerMessage);
    w.tasks.add(task.name);
  }
  w.worker.postMessage(message);
}

function waitForChunks(control: Int32Array, chunks: number): void {
  for (let done = Atomics.load(control, 1); done < chunks; done = Atomics.load(control, 1)) Atomics.wait(control, 1, done);
}

function failureMessage(control: Int32Array): string {
  const end = control.indexOf(0, 4);
  return String.fromCharCode(...control.subarray(4, end < 0 ? control.length : end));
}

/** Up to `count` workers, started now where missing (a worker that is still starting takes no chunk). */
function availableWorkers(count: number): PoolWorker[] {
  const threading = nodeThreading();
  try {
    while (threading && pool.workers.length < count) pool.workers.push(startWorker(threading));
  } catch {
    pool.threading = null;
  }
  return pool.workers.slice(0, count);
}

function startWorker(threading: NodeThreading): PoolWorker {
  const worker = new threading.Worker(workerSource(), { eval: true, execArgv: [] });
  worker.unref();
  const online = new Promise<void>((resolve) => {
    worker.once('online', resolve);
    worker.once('exit', resolve);
  });
  const entry: PoolWorker = { worker, tasks: new Set(), online };
  worker.on('error', () => forgetWorker(entry));
  worker.on('exit', () => forgetWorker(entry));
  return entry;
}

function forgetWorker(w: PoolWorker): void {
  pool.workers = pool.workers.filter((x) => x !== w);
}

function stopWorker(w: PoolWorker): void {
  forgetWorker(w);
  void w.worker.terminate();
}

/** Starts the pool's workers now and resolves with their number once they run (tests and benchmarks; tasks start them lazily). */
export async function startWorkerPool(): Promise<number> {
  const workers = availableWorkers(workerPoolSize());
  for (const w of workers) w.worker.ref(); // or a process with nothing else to do would exit while waiting
  try {
    await Promise.all(workers.map((w) => w.online));
  } finally {
    for (const w of workers) w.worker.unref();
  }
  return pool.workers.length;
}

/** Counts a user of the pool (a CPU backend); see releaseWorkerPool. */
export function acquireWorkerPool(): void {
  pool.users++;
}

/** The last user's release terminates the workers and frees the scratch memory; later tasks start anew. */
export function releaseWorkerPool(): void {
  if (pool.users > 0 && --pool.users === 0) shutDownWorkerPool();
}

function shutDownWorkerPool(): void {
  for (const w of [...pool.workers]) stopWorker(w);
  pool.scratch.clear();
}

export interface WorkerPoolStats {
  /** Live workers. */
  workers: number;
  /** Chunks computed by workers since the process started. */
  chunksByWorkers: number;
}

export function workerPoolStats(): WorkerPoolStats {
  return { workers: pool.workers.length, chunksByWorkers: pool.chunksByWorkers };
}
