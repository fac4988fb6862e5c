"""SparkNet, the original sequential algorithm (SCIENCE.md section 1), as researchers run it in PyTorch.

Torch tensors on the CPU; the sparks move one after another in a Python loop, each seeing the earlier
sparks' writes (softmax over the row, torch.multinomial); step 5 is the full decay-and-clamp pass over W.
Prints one JSON line: {steps_per_s, seconds, steps, torch_version, threads, ...}.
"""

import torch

from peer_common import (
    STATE_DECAY,
    NOISE_STD,
    LR_EDGE,
    GLOBAL_DECAY,
    MEM_DECAY,
    MEM_DEPOSIT,
    MEM_BIAS,
    EXPLORE,
    TEMPERATURE,
    ENERGY_DECAY,
    MIN_ENERGY,
    FORCE_STEPS,
    RESPAWN_GAIN,
    peer_arguments,
    run_peer,
)


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
    a = peer_arguments(__doc__, neurons=500, sparks=3, steps=200, warmup=10).parse_args()
    run_peer(a, lambda: SparkNet(a.neurons, a.sparks),
             lambda net: {'check': {'w_mean': float(net.W.mean()), 'm_max': float(net.M.max())}})

if __name__ == '__main__':
    main()
