import type { Backend, BackendInfo } from '../backend.js';
import { type AnyTypedArray, type DType, allocArray } from '../dtype.js';
import { AllocationError, type CompileMessage, DeviceLostError, ShaderCompileError, ValidationError } from '../errors.js';
import type { KernelSpec, Launch } from '../kernel.js';
import { type EntryPointLayout, entryPointLayout, packUniform } from '../reflection.js';
import { type ShaderSource, sourceLocation } from '../shader-source.js';
import type { Storage } from '../tensor.js';
import { BufferPool } from './buffer-pool.js';

/** A storage buffer and the bytes the tensor occupies in it. */
interface GpuStorage {
  buffer: GPUBuffer;
  bytes: number;
}

interface Program {
  pipeline: GPUComputePipeline;
  /** Bind groups by the buffers they hold (FIFO-bounded). */
  bindGroups: Map<string, GPUBindGroup>;
  groupLayouts: Map<number, GPUBindGroupLayout>;
  /** Resolves when the module compiled and the pipeline validated; rejects with why not. */
  ready: Promise<void>;
  failure?: Error;
}

interface ShaderModule {
  module: GPUShaderModule;
  compiled: Promise<void>;
  /** Set once compilation is known to have failed. */
  failure?: Error;
}

interface UniformChunk {
  buffer: GPUBuffer;
  bytes: Uint8Array;
  view: DataView;
  used: number;
}

const UNIFORM_CHUNK = 64 * 1024;
const BIND_GROUP_CACHE = 256;

export interface WebGpuBackendOptions {
  /** Submit after every dispatch inside an error scope, so a validation error names its kernel. */
  debug?: boolean;
  /** Dispatches encoded before an automatic submit. */
  maxBatch?: number;
}

/**
 * Encodes every kernel launch into one compute pass of one command encoder, and submits at a flush
 * point: a read, an explicit flush, a host write over live work, or `maxBatch` dispatches.
 */
export class WebGpuBackend implements Backend {
  private readonly pool: BufferPool;
  private readonly modules = new Map<string, ShaderModule>();
  private readonly programs = new WeakMap<KernelSpec, Map<string, Program>>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private passPipeline: GPUComputePipeline | null = null;
  private batchKernels: string[] = [];
  private uniformChunks: UniformChunk[] = [];
  private readonly uniformAlign: number;
  private readonly maxBatch: number;
  private readonly debug: boolean;
  private checks: Promise<void>[] = [];
  private deviceError: Error | null = null;
  private lostError: DeviceLostError | null = null;
  private readonly lost: Promise<never>;
  private disposed = false;

  constructor(
    readonly device: GPUDevice,
    readonly info: BackendInfo,
    /** Held so that Dawn's GPU object lives as long as the device. */
    private gpu: GPU | null,
    options: WebGpuBackendOptions = {},
  ) {
    this.pool = new BufferPool(device);
    this.uniformAlign = Math.max(16, device.limits.minUniformBufferOffsetAlignment);
    this.debug = options.debug ?? false;
    this.maxBatch = this.debug ? 1 : (options.maxBatch ?? 1024);
    this.lost = device.lost.then((l) => {
      this.lostError = new DeviceLostError(l.reason ?? 'unknown', l.message ?? '');
      throw this.lostError;
    });
    this.lost.catch(() => {});
    device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.deviceError ??= new ValidationError(`WebGPU error: ${err.message}`);
    });
  }

  private alive(): void {
    if (this.lostError) throw this.lostError;
    if (this.disposed) throw new DeviceLostError('destroyed', 'the engine was disposed');
  }

  allocate(bytes: number, name: string): Storage {
    this.alive();
    const limits = this.info.limits;
    if (bytes > limits.maxStorageBufferBindingSize) {
      throw new AllocationError(name, bytes, 'maxStorageBufferBindingSize', limits.maxStorageBufferBindingSize);
    }
    if (bytes > limits.maxBufferSize) throw new AllocationError(name, bytes, 'maxBufferSize', limits.maxBufferSize);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const storage: GpuStorage = { buffer: this.pool.acquire(size, usage, name), bytes };
    return storage;
  }

  release(storage: Storage): void {
    if (this.disposed) return;
    this.pool.release((storage as GpuStorage).buffer);
  }

  write(storage: Storage, data: AnyTypedArray): void {
    this.alive();
    if (data.byteLength === 0) return;
    // queue.writeBuffer takes effect before anything not yet submitted: submit first.
    if (this.encoder) this.flush();
    const s = storage as GpuStorage;
    this.device.queue.writeBuffer(s.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(storage: Storage, dtype: DType, size: number): Promise<AnyTypedArray> {
    this.alive();
    const out = allocArray(dtype, size);
    if (size === 0) return out;
    const s = storage as GpuStorage;
    const bytes = size * 4;
    const staging = this.pool.acquire(bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer(s.buffer, 0, staging, 0, bytes);
    try {
      await this.submitChecked();
      await Promise.race([staging.mapAsync(GPUMapMode.READ), this.lost]);
      const mapped = staging.getMappedRange();
      new Uint8Array(out.buffer).set(new Uint8Array(mapped, 0, bytes));
      staging.unmap();
    } catch (e) {
      throw this.lostError ?? e;
    } finally {
      if (!this.disposed) this.pool.release(staging);
    }
    this.throwDeviceError();
    return out;
  }

  copy(src: Storage, dst: Storage, bytes: number): void {
    this.alive();
    if (bytes === 0) return;
    this.endPass();
    this.ensureEncoder().copyBufferToBuffer((src as GpuStorage).buffer, 0, (dst as GpuStorage).buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  clear(storage: Storage, bytes: number): void {
    this.alive();
    if (bytes === 0) return;
    this.endPass();
    this.ensureEncoder().clearBuffer((storage as GpuStorage).buffer, 0, Math.ceil(bytes / 16) * 16);
  }

  async compile(kernel: KernelSpec, overrides: Record<string, number> = {}): Promise<void> {
    this.alive();
    // The compiler's messages first: they locate errors better than the reflection parser would.
    await this.module(kernel.shader).compiled;
    const program = this.program(kernel, entryPointLayout(kernel.shader, kernel.entryPoint), overrides);
    await program.ready;
  }

  run(launch: Launch): void {
    this.alive();
    const { kernel } = launch;
    const layout = entryPointLayout(kernel.shader, kernel.entryPoint);
    const program = this.program(kernel, layout, launch.overrides ?? {});
    if (program.failure) throw program.failure;
    const pass = this.ensurePass();
    if (this.passPipeline !== program.pipeline) {
      pass.setPipeline(program.pipeline);
      this.passPipeline = program.pipeline;
    }
    for (const [group, bgl] of program.groupLayouts) {
      // Uniforms use dynamic offsets into the batch's uniform chunk, so that a bind group depends only
      // on buffers and can be cached across dispatches.
      const offsets: number[] = [];
      let key = `${group}`;
      let chunk: GPUBuffer | null = null;
      for (const b of layout.bindings) {
        if (b.group !== group) continue;
        if (b.kind === 'storage') {
          const s = launch.bindings[b.name].storage as GpuStorage;
          key += `:${this.bufferId(s.buffer)}/${s.bytes}`;
        } else {
          const slot = this.uniformSlot(b.size, (view, base) => packUniform(b, launch.uniforms?.[b.name], view, base, kernel.name));
          chunk = slot.buffer;
          offsets.push(slot.offset);
          key += `:u${this.bufferId(chunk)}/${b.size}`;
        }
      }
      let bindGroup = program.bindGroups.get(key);
      if (!bindGroup) {
        const entries: GPUBindGroupEntry[] = layout.bindings
          .filter((b) => b.group === group)
          .map((b) => {
            if (b.kind === 'uniform') return { binding: b.binding, resource: { buffer: chunk as GPUBuffer, offset: 0, size: b.size } };
            const s = launch.bindings[b.name].storage as GpuStorage;
            return { binding: b.binding, resource: { buffer: s.buffer, offset: 0, size: Math.max(4, s.bytes) } };
          });
        bindGroup = this.device.createBindGroup({ layout: bgl, entries, label: kernel.name });
        if (program.bindGroups.size >= BIND_GROUP_CACHE) program.bindGroups.delete(program.bindGroups.keys().next().value as string);
        program.bindGroups.set(key, bindGroup);
      }
      pass.setBindGroup(group, bindGroup, offsets);
    }
    const [x, y = 1, z = 1] = launch.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    this.batchKernels.push(kernel.name);
    if (this.batchKernels.length >= this.maxBatch) this.flush();
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = ++this.nextBufferId));
    return id;
  }

  flush(): void {
    if (this.disposed || this.lostError) return;
    if (!this.encoder) return;
    this.endPass();
    const kernels = this.batchKernels;
    const encoder = this.encoder;
    this.encoder = null;
    this.batchKernels = [];
    for (const c of this.uniformChunks) {
      this.device.queue.writeBuffer(c.buffer, 0, c.bytes.buffer, 0, Math.ceil(c.used / 4) * 4);
      this.pool.release(c.buffer);
    }
    this.uniformChunks = [];
    this.device.pushErrorScope('validation');
    this.device.queue.submit([encoder.finish()]);
    const scope = this.device.popErrorScope().then((err) => {
      if (err) throw new ValidationError(`WebGPU validation error in a batch running ${summarize(kernels)}: ${err.message}`);
    });
    scope.catch(() => {});
    this.checks.push(scope);
    this.pool.recycle();
  }

  async sync(): Promise<void> {
    this.alive();
    await this.submitChecked();
    await Promise.race([this.device.queue.onSubmittedWorkDone(), this.lost]);
    this.throwDeviceError();
  }

  dispose(): void {
    if (this.disposed) return;
    if (!this.lostError) this.flush();
    this.disposed = true;
    this.pool.destroyAll();
    this.modules.clear();
    this.device.destroy();
    this.gpu = null;
  }

  /** Awaits pending compile and validation checks (compile errors first), then submits. */
  private async submitChecked(): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    for (const c of checks) await c;
    this.flush();
    const after = this.checks;
    this.checks = [];
    for (const c of after) await c;
    this.throwDeviceError();
  }

  private throwDeviceError(): void {
    if (this.lostError) throw this.lostError;
    const err = this.deviceError;
    if (err) {
      this.deviceError = null;
      throw err;
    }
  }

  private ensureEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private ensurePass(): GPUComputePassEncoder {
    return (this.pass ??= this.ensureEncoder().beginComputePass());
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
      this.passPipeline = null;
    }
  }

  private uniformSlot(size: number, pack: (view: DataView, base: number) => void): { buffer: GPUBuffer; offset: number } {
    let chunk = this.uniformChunks[this.uniformChunks.length - 1];
    const offset = chunk ? Math.ceil(chunk.used / this.uniformAlign) * this.uniformAlign : 0;
    if (!chunk || offset + size > UNIFORM_CHUNK) {
      const bytes = new Uint8Array(UNIFORM_CHUNK);
      chunk = {
        buffer: this.pool.acquire(UNIFORM_CHUNK, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, 'uniforms'),
        bytes,
        view: new DataView(bytes.buffer),
        used: 0,
      };
      this.uniformChunks.push(chunk);
      return this.placeUniform(chunk, 0, size, pack);
    }
    return this.placeUniform(chunk, offset, size, pack);
  }

  private placeUniform(chunk: UniformChunk, offset: number, size: number, pack: (view: DataView, base: number) => void) {
    chunk.bytes.fill(0, offset, offset + size);
    pack(chunk.view, offset);
    chunk.used = offset + size;
    return { buffer: chunk.buffer, offset };
  }

  private module(shader: ShaderSource): ShaderModule {
    const key = `${shader.name}\u0000${shader.code}`;
    const cached = this.modules.get(key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: shader.code, label: shader.name });
    const scope = this.device.popErrorScope();
    const compiled = module.getCompilationInfo().then(async (info) => {
      await scope;
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length === 0) return;
      const lines = shader.code.split('\n');
      const messages: CompileMessage[] = errors.map((m) => ({
        type: m.type,
        location: sourceLocation(shader, m.lineNum),
        line: m.lineNum,
        column: m.linePos,
        message: m.message,
        sourceLine: lines[m.lineNum - 1] ?? '',
      }));
      throw new ShaderCompileError(shader.name, messages);
    });
    const created: ShaderModule = { module, compiled };
    compiled.catch((e: Error) => {
      created.failure = e;
    });
    this.modules.set(key, created);
    return created;
  }

  private program(kernel: KernelSpec, layout: EntryPointLayout, overrides: Record<string, number>): Program {
    const constants: Record<string, number> = {};
    let key = '';
    for (const name of layout.overrides) {
      if (name in overrides) {
        constants[name] = overrides[name];
        key += `${name}=${overrides[name]};`;
      }
    }
    let programs = this.programs.get(kernel);
    if (!programs) this.programs.set(kernel, (programs = new Map()));
    let program = programs.get(key);
    if (program) return program;
    const shaderModule = this.module(kernel.shader);
    const { module, compiled } = shaderModule;
    const groupLayouts = new Map<number, GPUBindGroupLayout>();
    for (const group of layout.groups) {
      const entries: GPUBindGroupLayoutEntry[] = layout.bindings
        .filter((b) => b.group === group)
        .map((b) => ({
          binding: b.binding,
          visibility: GPUShaderStage.COMPUTE,
          buffer: b.kind === 'uniform' ? { type: 'uniform', hasDynamicOffset: true } : { type: b.readOnly ? 'read-only-storage' : 'storage' },
        }));
      groupLayouts.set(group, this.device.createBindGroupLayout({ entries, label: `${kernel.name}/group${group}` }));
    }
    const maxGroup = layout.groups.length ? layout.groups[layout.groups.length - 1] : -1;
    const bindGroupLayouts: GPUBindGroupLayout[] = [];
    for (let g = 0; g <= maxGroup; g++) bindGroupLayouts.push(groupLayouts.get(g) ?? this.device.createBindGroupLayout({ entries: [] }));
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: kernel.name,
      layout: this.device.createPipelineLayout({ bindGroupLayouts }),
      compute: { module, entryPoint: kernel.entryPoint, constants },
    });
    const scope = this.device.popErrorScope();
    const created: Program = { pipeline, groupLayouts, bindGroups: new Map(), ready: Promise.resolve(), failure: shaderModule.failure };
    created.ready = compiled
      .then(() => scope)
      .then((err) => {
        if (err) throw new ValidationError(`kernel '${kernel.name}' (entry point ${kernel.entryPoint}): pipeline creation failed: ${err.message}`);
      })
      .catch((e: Error) => {
        created.failure = e;
        throw e;
      });
    created.ready.catch(() => {});
    this.checks.push(created.ready);
    programs.set(key, created);
    return created;
  }
}

function summarize(kernels: string[]): string {
  const unique = [...new Set(kernels)];
  return unique.length <= 6 ? unique.join(', ') : `${unique.slice(0, 6).join(', ')} and ${unique.length - 6} more`;
}
