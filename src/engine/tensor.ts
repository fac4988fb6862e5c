import type { DType } from './dtype.js';
import { DisposedError, ShapeError } from './errors.js';
import { type Shape, shapeSize, shapeString } from './shape.js';

/** Storage a backend keeps for a tensor; opaque outside the backend. */
export type Storage = unknown;

export interface TensorOwner {
  releaseStorage(storage: Storage): void;
}

/** Storage shared by a tensor and its views; released when the last of them is disposed. */
interface SharedStorage {
  storage: Storage;
  refs: number;
}

let nextId = 1;

/** An n-dimensional array of f32, i32 or u32 living in one backend's memory. */
export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  #shared: SharedStorage | null;

  constructor(
    private readonly owner: TensorOwner,
    readonly shape: Shape,
    readonly dtype: DType,
    storage: Storage | SharedStorage,
    readonly name: string,
    shared = false,
  ) {
    this.size = shapeSize(shape);
    this.#shared = shared ? (storage as SharedStorage) : { storage, refs: 1 };
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.#shared === null;
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this.#shared === null) throw new DisposedError(`${this.describe()} was used after dispose()`);
    return this.#shared.storage;
  }

  /** A tensor over the same memory with another shape of the same size, or the same bits as another dtype. */
  view(shape: Shape, dtype: DType = this.dtype, name = `${this.name}:view`): Tensor {
    if (this.#shared === null) throw new DisposedError(`${this.describe()} was used after dispose()`);
    if (shapeSize(shape) !== this.size) {
      throw new ShapeError(`view of ${this.describe()} as ${shapeString(shape)}: sizes differ (${shapeSize(shape)} vs ${this.size})`);
    }
    this.#shared.refs++;
    return new Tensor(this.owner, [...shape], dtype, this.#shared, name, true);
  }

  describe(): string {
    return `tensor '${this.name}' ${shapeString(this.shape)} ${this.dtype}`;
  }

  /** Releases this handle; the memory returns to the pool (after the encoded work is submitted) with the last view. */
  dispose(): void {
    const shared = this.#shared;
    if (shared === null) return;
    this.#shared = null;
    if (--shared.refs === 0) this.owner.releaseStorage(shared.storage);
  }

  toString(): string {
    return this.describe();
  }
}
