export type DType = 'f32' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint32Array;

export const DTYPES: readonly DType[] = ['f32', 'i32', 'u32'];
export const BYTES_PER_ELEMENT = 4;

export function allocArray(dtype: DType, size: number): AnyTypedArray {
  switch (dtype) {
    case 'f32': return new Float32Array(size);
    case 'i32': return new Int32Array(size);
    case 'u32': return new Uint32Array(size);
  }
}

export function dtypeOfArray(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  return 'u32';
}

/** Copies numbers into a typed array of the dtype (f32 rounds, i32/u32 truncate as typed arrays do). */
export function toTypedArray(dtype: DType, data: ArrayLike<number>): AnyTypedArray {
  const out = allocArray(dtype, data.length);
  out.set(data as ArrayLike<number>);
  return out;
}
