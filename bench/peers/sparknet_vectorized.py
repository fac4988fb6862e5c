"""SparkNet in parallel mode (SCIENCE.md section 1), the best we could write with dense PyTorch on the CPU.

All sparks move at once from the state after step 3: their rows of W are gathered in chunks, and each
spark samples Categorical(softmax(logit)) by inverse CDF (cumsum of exp(logit - max), searchsorted: the
fastest here; torch.multinomial and the exponential race are offered with --sampler). Conflicts are
order-free: an edge crossed by c sparks gets W <- (1-lr)^c W + (1-(1-lr)^c) s[prev] (torch.unique counts),
M[next] += c*deposit (index_add_), s[next] <- the largest arriving energy (scatter_reduce_ amax), and
respawns sample M after all deposits.
Global decay is a scalar beside W (renormalised when small), as SCIENCE.md allows; --full-decay runs the
original's decay-and-clamp pass over W instead.
Prints one JSON line: {steps_per_s, seconds, steps, torch_version, threads, ...}.
"""
import warnings

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


warnings.filterwarnings('ignore', message='scatter_reduce')

RENORMALISE_BELOW = 2.0 ** -16


class ParallelSparkNet:
    def __init__(self, neurons, sparks, chunk, sampler, full_decay):
        self.n, self.k = neurons, sparks
        self.chunk, self.sampler, self.full_decay = chunk, sampler, full_decay
        self.W = (0.1 * torch.randn(neurons, neurons)).clamp_(-1.0, 1.0)
        self.W_flat = self.W.view(-1)
        self.scale = 1.0  # true W = scale * self.W
        self.s = torch.zeros(neurons)
        self.M = torch.zeros(neurons)
        self.pos = torch.randint(0, neurons, (sparks,))
        self.energy = torch.ones(sparks)
        self.age = torch.zeros(sparks, dtype=torch.long)
        self.next = torch.empty(sparks, dtype=torch.long)

    def choose(self, prev):
        """Every spark's sampled next neuron (movement softmax over its row), in chunks of sparks."""
        bias = MEM_BIAS * self.M + 1e-6 / TEMPERATURE
        gain = self.scale / TEMPERATURE
        for a in range(0, self.k, self.chunk):
            rows = self.W.index_select(0, prev[a:a + self.chunk])
            logits = rows.clamp_(min=0).mul_(gain).add_(bias)
            if self.sampler == 'cdf':
                cdf = logits.sub_(logits.amax(dim=1, keepdim=True)).exp_().cumsum_(dim=1)
                target = torch.rand(cdf.shape[0], 1).mul_(cdf[:, -1:])
                chosen = torch.searchsorted(cdf, target, right=True).squeeze(1).clamp_(max=self.n - 1)
            elif self.sampler == 'multinomial':
                chosen = torch.multinomial(torch.softmax(logits, dim=1), 1).squeeze(1)
            else:
                logits.sub_(logits.amax(dim=1, keepdim=True)).exp_()
                chosen = logits.div_(torch.empty_like(logits).exponential_()).argmax(dim=1)
            self.next[a:a + self.chunk] = chosen
        return self.next

    def respawn(self):
        dead = (self.energy < MIN_ENERGY).nonzero().squeeze(1)
        count = dead.numel()
        if count == 0:
            return
        if float(self.M.sum()) > 0:
            targets = torch.multinomial(torch.softmax(RESPAWN_GAIN * self.M, dim=0), count, replacement=True)
        else:
            targets = torch.randint(0, self.n, (count,))
        self.pos[dead] = targets
        self.energy[dead] = 1.0
        self.age[dead] = 0

    def step(self):
        n, W = self.n, self.W
        # 1-2
        self.s.mul_(STATE_DECAY)
        self.M.mul_(MEM_DECAY)
        self.s = torch.sigmoid(torch.mv(W, self.s).mul_(self.scale).add_(torch.randn(n), alpha=NOISE_STD))
        s, M = self.s, self.M
        # 3
        s[self.pos[self.age < FORCE_STEPS]] = 1.0
        # 4: moves from the state after 3
        prev = self.pos
        nxt = self.choose(prev).clone()
        jumps = torch.rand(self.k) < EXPLORE
        nxt[jumps] = torch.randint(0, n, (int(jumps.sum()),))
        # learning: each crossed edge once, with its crossing count c
        edges, crossings = torch.unique(nxt * n + prev, return_counts=True)
        decay = (1 - LR_EDGE) ** crossings.to(torch.float32)
        old = self.W_flat[edges]
        self.W_flat[edges] = (decay * (self.scale * old) + (1 - decay) * s[edges % n]) / self.scale
        # arrivals: deposits, largest arriving energy, ages
        M.index_add_(0, nxt, torch.full((self.k,), MEM_DEPOSIT))
        self.energy.mul_(ENERGY_DECAY)
        s.scatter_reduce_(0, nxt, self.energy, reduce='amax', include_self=False)
        self.pos = nxt
        self.age += 1
        self.respawn()
        # 5
        if self.full_decay:
            W.mul_(1 - GLOBAL_DECAY).clamp_(-1.0, 1.0)
        else:
            self.scale *= 1 - GLOBAL_DECAY
            if self.scale < RENORMALISE_BELOW:
                W.mul_(self.scale)
                self.scale = 1.0


def main():
    ap = peer_arguments(__doc__, neurons=4096, sparks=256, steps=50, warmup=3)
    ap.add_argument('--chunk', type=int, default=0, help='sparks whose rows are gathered at once (0: 2^20 / N)')
    ap.add_argument('--sampler', choices=['cdf', 'race', 'multinomial'], default='cdf')
    ap.add_argument('--full-decay', action='store_true')
    a = ap.parse_args()
    chunk = a.chunk if a.chunk > 0 else max(1, 2 ** 20 // a.neurons)
    run_peer(a, lambda: ParallelSparkNet(a.neurons, a.sparks, chunk, a.sampler, a.full_decay),
             lambda net: {'sampler': a.sampler, 'chunk': chunk, 'full_decay': a.full_decay,
                          'check': {'w_mean': float(net.W.mean()) * net.scale, 'm_max': float(net.M.max())}})

if __name__ == '__main__':
    main()
