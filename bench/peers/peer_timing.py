"""Timing helpers shared by the SparkNet peers (run from this folder, which Python puts on sys.path)."""
import time


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
