import { EmergentError } from './errors.js';
import type { CpuLaunch, KernelSpec } from './kernel.js';
import { type EntryPointLayout, entryPointLayout } from './reflection.js';
import { userShader } from './shader-source.js';

export interface CustomKernelOptions {
  /** A complete WGSL module with at least one @compute entry point. */
  code: string;
  /** Default 'main'. */
  entryPoint?: string;
  /** The name errors use, as "name:line:column". Default 'user-shader'. */
  name?: string;
  /** A CPU twin, to run the kernel on the CPU backend too. */
  cpu?: (launch: CpuLaunch) => void;
}

/**
 * A kernel from a researcher's own WGSL. Its bindings and uniform layout are reflected from the
 * source; `engine.compile(kernel)` reports WGSL errors at the source's own lines, and
 * `engine.run({ kernel, bindings, uniforms, workgroups })` runs it on engine tensors.
 */
export function defineKernel(options: CustomKernelOptions): KernelSpec {
  const name = options.name ?? 'user-shader';
  const entryPoint = options.entryPoint ?? 'main';
  return {
    name,
    shader: userShader(options.code, name),
    entryPoint,
    cpu:
      options.cpu ??
      (() => {
        throw new EmergentError(`kernel '${name}' has no CPU twin: run it on the webgpu backend, or pass cpu to defineKernel`);
      }),
  };
}

/** What a kernel's WGSL asks for: its storage bindings (name, dtype, access), uniform fields, overrides. */
export function describeKernel(kernel: KernelSpec): EntryPointLayout {
  return entryPointLayout(kernel.shader, kernel.entryPoint);
}
