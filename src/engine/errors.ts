/** Base class of every error the engine throws on purpose. */
export class EmergentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A parameter outside its allowed range, named with its value and the range. */
export class ParameterError extends EmergentError {
  constructor(readonly parameter: string, readonly value: unknown, readonly allowed: string) {
    super(`${parameter} = ${formatValue(value)} is invalid: expected ${allowed}`);
  }
}

/** Tensors whose shapes or dtypes do not fit the operation. */
export class ShapeError extends EmergentError {}

/** An allocation larger than a device limit. */
export class AllocationError extends EmergentError {
  constructor(readonly tensor: string, readonly bytes: number, readonly limitName: string, readonly limit: number) {
    super(
      `cannot allocate ${tensor}: ${bytes} bytes (${formatBytes(bytes)}) exceeds the device's ${limitName} of ` +
        `${limit} bytes (${formatBytes(limit)})`,
    );
  }
}

export interface CompileMessage {
  type: 'error' | 'warning' | 'info';
  /** "file:line" in the source the user or shaders/ holds. */
  location: string;
  line: number;
  column: number;
  message: string;
  sourceLine: string;
}

/** WGSL that failed to compile, with every message located in its source. */
export class ShaderCompileError extends EmergentError {
  constructor(readonly kernel: string, readonly messages: CompileMessage[]) {
    super(
      `WGSL compile error in kernel '${kernel}':\n` +
        messages
          .map((m) => `  ${m.location}:${m.column}: ${m.type}: ${m.message}\n    ${m.sourceLine.trim()}`)
          .join('\n'),
    );
  }
}

/** A WebGPU validation error, with the kernels that were in flight when it arose. */
export class ValidationError extends EmergentError {}

/** The GPU device was lost; pending work is rejected and a new engine must be created. */
export class DeviceLostError extends EmergentError {
  constructor(readonly reason: string, readonly detail: string) {
    super(`the GPU device was lost (reason: ${reason}${detail ? `: ${detail}` : ''}); create a new engine to continue`);
  }
}

/** Use of a tensor after dispose(), or of an engine after dispose(). */
export class DisposedError extends EmergentError {}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
