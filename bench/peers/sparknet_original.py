"""SparkNet, the original sequential algorithm (SCIENCE.md section 1), as researchers run it in PyTorch.

Torch tensors on the CPU; the sparks move one after another in a Python loop, each seeing the earlier
sparks' writes (softmax over the row, torch.multinomial); step 5 is the full decay-and-clamp pass over W.
Prints one JSON line: {steps_per_s, seconds, steps, torch_version, threads, ...}.
"""
import argparse
import json
import os
import time

import torch

from peer_timing import blas_library, timed_steps

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


class SparkNet:
    def __init__(self, neurons, sparks):
        self.n = neurons
        self.W = 0.1 * torch.randn(neurons, neurons)
        self.s = torch.zeros(neurons)
        self.M = torch.zeros(neurons)
        self.pos = [int(torch.randint(0, neurons, (1,))) for _ in range(sparks)]
        self.energy = [1.0] * sparks
        self.age = [0] * sparks

    def respawn_target(self):
        if float(self.M.sum()) > 0:
            return int(torch.multinomial(torch.softmax(RESPAWN_GAIN * self.M, dim=0), 1))
        return int(torch.randint(0, self.n, (1,)))

    def step(self):
        W, n = self.W, self.n
        # 1-2: decay, then the network update (the decay of s only shrinks the input)
        self.s *= STATE_DECAY
        self.M *= MEM_DECAY
        self.s = torch.sigmoid(W @ self.s + NOISE_STD * torch.randn(n))
        s, M = self.s, self.M
        # 3: young sparks pin their neuron
        for i, p in enumerate(self.pos):
            if self.age[i] < FORCE_STEPS:
                s[p] = 1.0
        # 4: sparks one after another
        for i in range(len(self.pos)):
            prev = self.pos[i]
            logits = (torch.relu(W[prev]) + 1e-6) / TEMPERATURE + MEM_BIAS * M
            if float(torch.rand(1)) < EXPLORE:
                nxt = int(torch.randint(0, n, (1,)))
            else:
                nxt = int(torch.multinomial(torch.softmax(logits, dim=0), 1))
            self.pos[i] = nxt
            W[nxt, prev] = (1 - LR_EDGE) * W[nxt, prev] + LR_EDGE * s[prev]
            M[nxt] += MEM_DEPOSIT
            self.energy[i] *= ENERGY_DECAY
            s[nxt] = self.energy[i]
            self.age[i] += 1
            if self.energy[i] < MIN_ENERGY:
                self.pos[i] = self.respawn_target()
                self.energy[i] = 1.0
                self.age[i] = 0
        # 5: global decay and clamp, a full pass over W
        W.mul_(1 - GLOBAL_DECAY)
        W.clamp_(-1.0, 1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--neurons', type=int, default=500)
    ap.add_argument('--sparks', type=int, default=3)
    ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--warmup', type=int, default=10)
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    ap.add_argument('--reps', type=int, default=1, help='time the steps in this many equal chunks')
    ap.add_argument('--budget-s', type=float, default=0, help='timed seconds to aim for (then --steps is the most)')
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.perf_counter()
    net = SparkNet(a.neurons, a.sparks)
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
        'check': {'w_mean': float(net.W.mean()), 'm_max': float(net.M.max())},
    }))


if __name__ == '__main__':
    main()
