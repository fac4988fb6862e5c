import { ParameterError } from '../engine/errors.js';

/** An integer flag value in [min, max], or a ParameterError naming the flag. */
export function intFlag(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ParameterError(flag, value, `an integer in [${min}, ${max}]`);
  }
  return n;
}

/** A number flag value (ranges are checked by the model's own validation), or a ParameterError naming the flag. */
export function numberFlag(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || (Number.isNaN(n) && value.trim().toLowerCase() !== 'nan')) throw new ParameterError(flag, value, 'a number');
  return n;
}
