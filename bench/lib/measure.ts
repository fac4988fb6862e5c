/** Timing with warm-up and repeats: the median and the spread (min..max) of the repeats. */
export interface Timing {
  medianMs: number;
  minMs: number;
  maxMs: number;
  reps: number;
}

export async function measure(fn: () => Promise<void> | void, { warmup = 1, reps = 5 }: { warmup?: number; reps?: number } = {}): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianMs = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
  return { medianMs, minMs: times[0], maxMs: times[times.length - 1], reps };
}

/** Repeats for a workload expected to take `estimateMs`: more for short ones, at least 1, within a budget. */
export function repsFor(estimateMs: number, budgetMs = 4000, max = 9): number {
  return Math.max(1, Math.min(max, Math.floor(budgetMs / Math.max(estimateMs, 1e-3))));
}
