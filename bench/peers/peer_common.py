"""What the SparkNet peers share: SCIENCE.md §1 defaults, their common flags and the timed run.
(Each peer runs from this folder, which Python puts on sys.path.)"""
import argparse
import json
import os
import time

import torch

STATE_DECAY = 0.95
NOISE_STD = 0.05
LR_EDGE = 0.05
GLOBAL_DECAY = 0.001
MEM_DECAY = 0.92
MEM_DEPOSIT = 0.15
MEM_BIAS = 0.8
EXPLORE = 0.05
TEMPERATURE = 0.3
ENERGY_DECAY = 0.98
MIN_ENERGY = 0.05
FORCE_STEPS = 5
RESPAWN_GAIN = 2.0


def blas_library():
    """The BLAS library torch loaded (Debian's torch uses the system libblas.so.3 alternative)."""
    try:
        with open('/proc/self/maps') as f:
            paths = {line.split()[-1] for line in f if 'blas' in line.lower()}
        return ', '.join(sorted(paths)) or 'none found'
    except OSError:
        return 'unknown'



def timed_steps(net, steps, reps, budget_s, estimate_s):
    """Steps taken, seconds in all and ms per step of each of `reps` equal chunks; with a budget, as many
    steps as fit it (at most `steps`)."""
    if budget_s > 0:
        steps = max(reps, min(steps, round(budget_s / max(estimate_s, 1e-6))))
    reps = max(1, min(reps, steps))
    chunks = [steps // reps + (1 if r < steps % reps else 0) for r in range(reps)]
    rep_ms, seconds = [], 0.0
    for count in chunks:
        t = time.perf_counter()
        for _ in range(count):
            net.step()
        elapsed = time.perf_counter() - t
        seconds += elapsed
        rep_ms.append(elapsed * 1000 / count)
    return steps, seconds, rep_ms


def peer_arguments(description, neurons, sparks, steps, warmup):
    """The flags every peer takes, with its own defaults; add more, then parse."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument('--neurons', type=int, default=neurons)
    ap.add_argument('--sparks', type=int, default=sparks)
    ap.add_argument('--steps', type=int, default=steps)
    ap.add_argument('--warmup', type=int, default=warmup)
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--reps', type=int, default=1, help='time the steps in this many equal chunks')
    ap.add_argument('--budget-s', type=float, default=0, help='timed seconds to aim for (then --steps is the most)')
    ap.add_argument('--seed', type=int, default=0)
    return ap


def run_peer(a, make_net, extra):
    """Builds the net, warms up (estimating a step), times the steps and prints one JSON line;
    `extra(net)` adds the peer's own fields."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    net = make_net()
    init_seconds = time.perf_counter() - t0
    estimate_s = 0.0
    for _ in range(max(a.warmup, 1 if a.budget_s > 0 else 0)):
        t = time.perf_counter()
        net.step()
        estimate_s = time.perf_counter() - t
    steps, seconds, rep_ms = timed_steps(net, a.steps, a.reps, a.budget_s, estimate_s)
    print(json.dumps({
        'steps_per_s': steps / seconds, 'seconds': seconds, 'steps': steps,
        'torch_version': torch.__version__, 'threads': torch.get_num_threads(),
        'rep_ms_per_step': rep_ms, 'init_seconds': init_seconds, 'blas': blas_library(),
        **extra(net),
    }))
