import { describe, expect, it } from 'vitest';
import { gridTopology, randomTopology, type Topology } from '../../src/models/sparknet/topology.js';

function checkSymmetricCsr(t: Topology): void {
  const { neurons: n, rowPtr, colIdx, twin } = t;
  expect(rowPtr[0]).toBe(0);
  expect(rowPtr[n]).toBe(colIdx.length);
  for (let i = 0; i < n; i++) {
    for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) {
      const j = colIdx[e];
      expect(j).not.toBe(i);
      if (e > rowPtr[i]) expect(colIdx[e - 1]).toBeLessThan(j);
      const back = twin[e];
      expect(back >= rowPtr[j] && back < rowPtr[j + 1]).toBe(true);
      expect(colIdx[back]).toBe(i);
      expect(twin[back]).toBe(e);
    }
  }
}

describe('SparkNet sparse topologies', () => {
  it('random: symmetric, sorted, no self-loops, twins exact, mean degree near d, reproducible from the seed', () => {
    const t = randomTopology(1000, 16, 7);
    checkSymmetricCsr(t);
    const mean = t.colIdx.length / 1000;
    expect(mean).toBeGreaterThan(15);
    expect(mean).toBeLessThanOrEqual(16);
    expect(Array.from(randomTopology(1000, 16, 7).colIdx)).toEqual(Array.from(t.colIdx));
    expect(Array.from(randomTopology(1000, 16, 8).colIdx)).not.toEqual(Array.from(t.colIdx));
  });

  it('grid: symmetric, interior cells have the disc of neighbours, borders fewer', () => {
    const t = gridTopology(20 * 25, 8, 25);
    checkSymmetricCsr(t);
    const deg = (i: number) => t.rowPtr[i + 1] - t.rowPtr[i];
    expect(deg(10 * 25 + 12)).toBeGreaterThanOrEqual(8);
    expect(deg(0)).toBeLessThan(deg(10 * 25 + 12));
    const nb = Array.from(t.colIdx.subarray(t.rowPtr[26], t.rowPtr[27]));
    expect(nb).toEqual(expect.arrayContaining([1, 25, 27, 51]));
  });

  it('tiny networks: two neurons are each other\'s only neighbour', () => {
    const t = randomTopology(2, 1, 0);
    checkSymmetricCsr(t);
    expect(Array.from(t.colIdx)).toEqual([1, 0]);
  });
});
