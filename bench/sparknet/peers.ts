// The PyTorch peers (bench/peers/sparknet_*.py) as subprocesses: finding a python3 with torch, running
// one configuration within a time budget, reading its JSON line.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import type { Timing } from '../lib/measure.js';
import type { PeerName, SparkCase } from './cases.js';

export interface Python {
  command: string;
  torch: string;
}

export interface PeerResult {
  timing: Timing;
  steps: number;
  threads: number;
  torchVersion: string;
  blas: string;
  initSeconds: number;
  /** OpenMP settings the runner added to the environment. */
  env: string;
}

export const PEER_SCRIPTS: Record<PeerName, string> = {
  original: 'bench/peers/sparknet_original.py',
  vectorized: 'bench/peers/sparknet_vectorized.py',
};

/** The implementation name of a peer's rows; our rows name its part before ' (' as their peer. */
export const PEER_IMPL: Record<PeerName, string> = {
  original: 'PyTorch original',
  vectorized: 'PyTorch vectorized',
};

export const PEER_DESCRIPTION: Record<PeerName, string> = {
  original: 'sequential loop over sparks, full W decay pass',
  vectorized: 'all sparks at once, dense',
};

/**
 * The first of $EMERGENT_PYTHON, python3, /usr/bin/python3 that imports torch (Debian's python3-torch lives
 * in the system python, which a pyenv python3 on PATH does not see); else why none did.
 */
export function findPython(): Python | { reason: string } {
  const candidates = [process.env.EMERGENT_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  const tried: string[] = [];
  for (const command of [...new Set(candidates)]) {
    const r = spawnSync(command, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { command, torch: r.stdout.trim() };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${command}: ${why}`);
  }
  return { reason: `no python3 with torch (${tried.join('; ')}); apt-get install python3-torch or set EMERGENT_PYTHON` };
}

/**
 * OpenMP threads spin while they wait by default; on this shared 2-core machine a busy neighbour process
 * then made torch 10-30x slower with 2 threads. Passive waiting (unless the caller chose) avoids that.
 */
function peerEnv(): { env: NodeJS.ProcessEnv; added: string } {
  if (process.env.OMP_WAIT_POLICY) return { env: process.env, added: '' };
  return { env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' }, added: 'OMP_WAIT_POLICY=PASSIVE' };
}

function summarize(msPerStep: number[]): Timing {
  const sorted = [...msPerStep].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs, minMs: sorted[0], maxMs: sorted[sorted.length - 1], reps: sorted.length };
}

/** Short name of the BLAS torch loaded, from the peer's list of mapped libraries. */
function blasName(paths: string): string {
  const openblas = /libopenblas\w*-r([\d.]+)\.so/.exec(paths);
  if (openblas) return `OpenBLAS ${openblas[1]}${paths.includes('pthread') ? ' pthread' : paths.includes('openmp') ? ' openmp' : ''}`;
  if (/mkl/i.test(paths)) return 'MKL';
  if (/\/blas\/libblas/.test(paths)) return 'reference BLAS (netlib)';
  return paths || 'unknown BLAS';
}

export function runPeer(python: Python, peer: PeerName, c: SparkCase, budgetS: number, reps: number, warmup: number): PeerResult | { reason: string } {
  const p = c.params;
  const threads = cpus().length;
  const args = [
    PEER_SCRIPTS[peer], '--neurons', `${p.neurons}`, '--sparks', `${p.sparks}`, '--steps', '1000000',
    '--warmup', `${warmup}`, '--threads', `${threads}`, '--reps', `${reps}`, '--budget-s', `${budgetS}`,
  ];
  const { env, added } = peerEnv();
  // Generous: initialisation (1 GiB of W at N=16384) and warm-up come on top of the budget.
  const timeout = (budgetS * 4 + 300) * 1000;
  const r = spawnSync(python.command, args, { encoding: 'utf8', env, timeout, maxBuffer: 1 << 24 });
  if (r.status !== 0) {
    const why = r.error ? r.error.message : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    return { reason: `${why}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const out = JSON.parse(line) as { steps: number; threads: number; torch_version: string; rep_ms_per_step: number[]; init_seconds: number; blas: string };
  return {
    timing: summarize(out.rep_ms_per_step),
    steps: out.steps,
    threads: out.threads,
    torchVersion: out.torch_version,
    blas: blasName(out.blas),
    initSeconds: out.init_seconds,
    env: added,
  };
}
