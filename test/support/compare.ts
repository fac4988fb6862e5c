import { expect } from 'vitest';

export interface Tolerance {
  /** Relative tolerance. */
  rtol: number;
  /** Absolute tolerance. */
  atol: number;
}

export const EXACT: Tolerance = { rtol: 0, atol: 0 };

export function tol(t: Tolerance): string {
  return t.rtol === 0 && t.atol === 0 ? 'exact' : `rtol ${t.rtol}, atol ${t.atol}`;
}

/**
 * Expects |actual - expected| <= atol + rtol·|expected| elementwise; NaN must meet NaN and
 * infinities must match exactly. Reports the worst element.
 */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, t: Tolerance, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) !== Number.isNaN(a)) {
        expect.fail(`${label}[${i}]: got ${a}, expected ${e}`);
      }
      continue;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) expect.fail(`${label}[${i}]: got ${a}, expected ${e}`);
      continue;
    }
    const err = Math.abs(a - e) - (t.atol + t.rtol * Math.abs(e));
    if (err > worstErr) {
      worstErr = err;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(`${label}[${worst}]: got ${actual[worst]}, expected ${expected[worst]} (beyond ${tol(t)} by ${worstErr})`);
  }
}

/** Deterministic test data: a small LCG, so tests do not depend on the engine's RNG. */
export function testData(n: number, seed = 1, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
