/**
 * Buffers pooled by (size, usage). A released buffer waits until the batch that may still use it has
 * been submitted (`recycle()`), since queue.writeBuffer on it would otherwise overtake that work.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private released: GPUBuffer[] = [];
  private freeBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxFreeBytes = 512 * 1024 * 1024,
  ) {}

  acquire(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const list = this.free.get(`${size}:${usage}`);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= size;
      return reused;
    }
    return this.device.createBuffer({ size, usage, label });
  }

  /** Marks a buffer free once the current batch has been submitted. */
  release(buffer: GPUBuffer): void {
    this.released.push(buffer);
  }

  /** Called after each submit: buffers released before it become reusable. */
  recycle(): void {
    for (const b of this.released) {
      if (this.freeBytes + b.size > this.maxFreeBytes) {
        b.destroy();
        continue;
      }
      const key = `${b.size}:${b.usage}`;
      let list = this.free.get(key);
      if (!list) this.free.set(key, (list = []));
      list.push(b);
      this.freeBytes += b.size;
    }
    this.released = [];
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.released) b.destroy();
    this.free.clear();
    this.released = [];
    this.freeBytes = 0;
  }
}
