import { ParameterError, ShapeError } from './errors.js';

export type Shape = readonly number[];

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, what = 'shape'): void {
  if (!Array.isArray(shape)) throw new ParameterError(what, shape, 'an array of non-negative integers');
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) throw new ParameterError(`${what}[${i}]`, d, 'a non-negative integer');
  });
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Resolves a possibly negative axis against a rank. */
export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new ParameterError(what, axis, `an integer in [${-rank}, ${Math.max(rank, 1) - 1}] for a rank-${rank} tensor`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Splits a shape around an axis into [outer, axis length, inner]. */
export function splitAtAxis(shape: Shape, axis: number): [number, number, number] {
  const outer = shapeSize(shape.slice(0, axis));
  const len = shape.length === 0 ? 1 : shape[axis];
  const inner = shapeSize(shape.slice(axis + 1));
  return [outer, len, inner];
}

/** NumPy broadcasting of two shapes; throws a ShapeError naming both when they do not broadcast. */
export function broadcastShapes(a: Shape, b: Shape, what = 'operands'): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${what}: shapes ${shapeString(a)} and ${shapeString(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` read as broadcast to `outShape` (0 along broadcast dimensions). */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const o = rank - shape.length + i;
    strides[o] = shape[i] === 1 && outShape[o] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}
