import { describe, expect, it } from 'vitest';
import { Philox, philox4x32, seedKey } from '../../src/engine/rng.js';

// Known-answer vectors of Random123 (kat_vectors): counter[4], key[2] -> output[4].
const KAT: [number[], number[], number[]][] = [
  [[0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

describe('Philox4x32-10 (TypeScript)', () => {
  it('matches the Random123 known-answer vectors', () => {
    for (const [c, k, want] of KAT) {
      expect(Array.from(philox4x32(c[0], c[1], c[2], c[3], k[0], k[1]))).toEqual(want);
    }
  });

  it('splits a 53-bit seed into the two key words and rejects others', () => {
    expect(seedKey(0)).toEqual([0, 0]);
    expect(seedKey(2 ** 32 + 5)).toEqual([5, 1]);
    expect(() => seedKey(-1)).toThrow(/seed = -1 is invalid/);
    expect(() => seedKey(1.5)).toThrow(/seed/);
  });

  it('host draws follow the (index, block, step, stream) convention', () => {
    const r = new Philox(42, 3);
    const w = philox4x32(7, 1, 5, 3, 42, 0);
    expect(Array.from(r.bits(5, 7, 1))).toEqual(Array.from(w));
    expect(r.uniform(5, 7, 2, 1)).toBe((w[2] >>> 8) / 2 ** 24);
  });
});
