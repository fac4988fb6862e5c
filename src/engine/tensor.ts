import type { DType } from './dtype.js';
import { DisposedError } from './errors.js';
import { type Shape, shapeSize, shapeString } from './shape.js';

/** Storage a backend keeps for a tensor; opaque outside the backend. */
export type Storage = unknown;

export interface TensorOwner {
  releaseTensor(t: Tensor): void;
}

let nextId = 1;

/** An n-dimensional array of f32, i32 or u32 living in one backend's memory. */
export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  #storage: Storage | null;

  constructor(
    private readonly owner: TensorOwner,
    readonly shape: Shape,
    readonly dtype: DType,
    storage: Storage,
    readonly name: string,
  ) {
    this.size = shapeSize(shape);
    this.#storage = storage;
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.#storage === null;
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this.#storage === null) throw new DisposedError(`${this.describe()} was used after dispose()`);
    return this.#storage;
  }

  describe(): string {
    return `tensor '${this.name}' ${shapeString(this.shape)} ${this.dtype}`;
  }

  /** Returns the memory to the backend's pool (after the work already encoded has been submitted). */
  dispose(): void {
    if (this.#storage === null) return;
    this.owner.releaseTensor(this);
    this.#storage = null;
  }

  toString(): string {
    return this.describe();
  }
}
