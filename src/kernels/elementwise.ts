import type { Engine } from '../engine/engine.js';
import { ParameterError, ShapeError } from '../engine/errors.js';
import { type KernelSpec, grid1d } from '../engine/kernel.js';
import { broadcastShapes, broadcastStrides, sameShape, shapeSize } from '../engine/shape.js';
import type { Tensor } from '../engine/tensor.js';
import { SHADERS } from '../generated/shaders.js';
import { f32, outputTensor, packDims, requireDType, workgroupSize } from './common.js';

export const UNARY_OPS = ['neg', 'abs', 'exp', 'log', 'sqrt', 'sigmoid', 'relu', 'tanh', 'square', 'clamp', 'affine'] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];
export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max', 'min', 'pow'] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

const MAX_RANK = 8;

/** The f32 function of each unary op, as the WGSL computes it (parameters a, b: clamp bounds, affine scale/shift). */
export function unaryFn(op: UnaryOp): (v: number, a: number, b: number) => number {
  switch (op) {
    case 'neg': return (v) => -v;
    case 'abs': return (v) => Math.abs(v);
    case 'exp': return (v) => f32(Math.exp(v));
    case 'log': return (v) => f32(Math.log(v));
    case 'sqrt': return (v) => f32(Math.sqrt(v));
    case 'sigmoid': return (v) => f32(1 / f32(1 + f32(Math.exp(-v))));
    case 'relu': return (v) => (v < 0 ? 0 : v);
    case 'tanh': return (v) => {
      const e = f32(Math.exp(f32(-2 * Math.abs(v))));
      const t = f32(f32(1 - e) / f32(1 + e));
      return v < 0 ? -t : t;
    };
    case 'square': return (v) => f32(v * v);
    case 'clamp': return (v, a, b) => (v < a ? a : v > b ? b : v);
    case 'affine': return (v, a, b) => f32(f32(v * a) + b);
  }
}

export function binaryFn(op: BinaryOp): (p: number, q: number) => number {
  switch (op) {
    case 'add': return (p, q) => f32(p + q);
    case 'sub': return (p, q) => f32(p - q);
    case 'mul': return (p, q) => f32(p * q);
    case 'div': return (p, q) => f32(p / q);
    case 'max': return (p, q) => (Number.isNaN(p) || Number.isNaN(q) ? NaN : p > q ? p : q);
    case 'min': return (p, q) => (Number.isNaN(p) || Number.isNaN(q) ? NaN : p < q ? p : q);
    case 'pow': return (p, q) => f32(Math.pow(p, q));
  }
}

interface BroadcastUniform {
  n: number;
  rank: number;
  shape: number[];
  a_strides: number[];
  b_strides: number[];
  c_strides: number[];
}

/** Visits every output index with the operands' broadcast indices, as the WGSL does. */
function forEachBroadcast(u: BroadcastUniform, broadcast: boolean, visit: (i: number, ia: number, ib: number, ic: number) => void): void {
  if (!broadcast) {
    for (let i = 0; i < u.n; i++) visit(i, i, i, i);
    return;
  }
  const coords = new Array<number>(u.rank).fill(0);
  for (let i = 0; i < u.n; i++) {
    let ia = 0, ib = 0, ic = 0;
    for (let d = 0; d < u.rank; d++) {
      ia += coords[d] * u.a_strides[d];
      ib += coords[d] * u.b_strides[d];
      ic += coords[d] * u.c_strides[d];
    }
    visit(i, ia, ib, ic);
    for (let d = u.rank - 1; d >= 0; d--) {
      if (++coords[d] < u.shape[d]) break;
      coords[d] = 0;
    }
  }
}

const shader = SHADERS.elementwise;

export const unaryKernel: KernelSpec = {
  name: 'elementwise.unary',
  shader,
  entryPoint: 'unary',
  cpu({ arrays: { x, y }, uniforms: { unary_params: p }, overrides }) {
    const fn = unaryFn(UNARY_OPS[overrides.OP]);
    const n = p.n as number, a = f32(p.a as number), b = f32(p.b as number);
    for (let i = 0; i < n; i++) y[i] = fn(x[i], a, b);
  },
};

export const unaryInPlaceKernel: KernelSpec = {
  name: 'elementwise.unary_inplace',
  shader,
  entryPoint: 'unary_inplace',
  cpu({ arrays: { xy }, uniforms: { unary_params: p }, overrides }) {
    const fn = unaryFn(UNARY_OPS[overrides.OP]);
    const n = p.n as number, a = f32(p.a as number), b = f32(p.b as number);
    for (let i = 0; i < n; i++) xy[i] = fn(xy[i], a, b);
  },
};

export const binaryKernel: KernelSpec = {
  name: 'elementwise.binary',
  shader,
  entryPoint: 'binary',
  cpu({ arrays: { lhs, rhs, out }, uniforms: { bp }, overrides }) {
    const fn = binaryFn(BINARY_OPS[overrides.OP]);
    forEachBroadcast(bp as unknown as BroadcastUniform, overrides.BROADCAST === 1, (i, ia, ib) => {
      out[i] = fn(lhs[ia], rhs[ib]);
    });
  },
};

export const whereKernel: KernelSpec = {
  name: 'elementwise.where',
  shader,
  entryPoint: 'where_select',
  cpu({ arrays: { lhs, rhs, cond, out }, uniforms: { bp } , overrides }) {
    forEachBroadcast(bp as unknown as BroadcastUniform, overrides.BROADCAST === 1, (i, ia, ib, ic) => {
      out[i] = cond[ic] !== 0 ? lhs[ia] : rhs[ib];
    });
  },
};

/** y = op(x) elementwise, into `out` (which may be `x` itself: then in place). */
export function unary(engine: Engine, op: UnaryOp, x: Tensor, params: { a?: number; b?: number } = {}, out?: Tensor): Tensor {
  const opIndex = UNARY_OPS.indexOf(op);
  if (opIndex < 0) throw new ParameterError('op', op, UNARY_OPS.join(' | '));
  requireDType(op, x, 'f32');
  const y = outputTensor(engine, op, x.shape, 'f32', out);
  const wg = workgroupSize(engine);
  const unary_params = { n: x.size, a: params.a ?? 0, b: params.b ?? 0 };
  const overrides = { WG: wg, OP: opIndex };
  const workgroups = grid1d(x.size, wg, engine.limits.maxComputeWorkgroupsPerDimension);
  if (y === x) engine.run({ kernel: unaryInPlaceKernel, bindings: { xy: x }, uniforms: { unary_params }, overrides, workgroups });
  else engine.run({ kernel: unaryKernel, bindings: { x, y }, uniforms: { unary_params }, overrides, workgroups });
  return y;
}

function broadcastUniform(outShape: number[], ...operands: readonly (readonly number[])[]): BroadcastUniform {
  if (outShape.length > MAX_RANK) throw new ShapeError(`broadcasting supports rank <= ${MAX_RANK}, got rank ${outShape.length}`);
  const strides = operands.map((s) => packDims(broadcastStrides(s, outShape)));
  return {
    n: shapeSize(outShape),
    rank: outShape.length,
    shape: packDims(outShape),
    a_strides: strides[0],
    b_strides: strides[1],
    c_strides: strides[2] ?? packDims([]),
  };
}

/** out = a op b with NumPy broadcasting. */
export function binary(engine: Engine, op: BinaryOp, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  const opIndex = BINARY_OPS.indexOf(op);
  if (opIndex < 0) throw new ParameterError('op', op, BINARY_OPS.join(' | '));
  requireDType(`${op} a`, a, 'f32');
  requireDType(`${op} b`, b, 'f32');
  const shape = broadcastShapes(a.shape, b.shape, op);
  const o = outputTensor(engine, op, shape, 'f32', out);
  const wg = workgroupSize(engine);
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  engine.run({
    kernel: binaryKernel,
    bindings: { lhs: a, rhs: b, out: o },
    uniforms: { bp: { ...broadcastUniform(shape, a.shape, b.shape) } },
    overrides: { WG: wg, OP: opIndex, BROADCAST: broadcast ? 1 : 0 },
    workgroups: grid1d(o.size, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  return o;
}

/** out = cond ? a : b elementwise (cond u32 or i32, nonzero is true), all three broadcast together. */
export function where(engine: Engine, cond: Tensor, a: Tensor, b: Tensor, out?: Tensor): Tensor {
  requireDType('where cond', cond, 'u32', 'i32');
  requireDType('where a', a, 'f32');
  requireDType('where b', b, 'f32');
  const shape = broadcastShapes(broadcastShapes(a.shape, b.shape, 'where'), cond.shape, 'where');
  const o = outputTensor(engine, 'where', shape, 'f32', out);
  const wg = workgroupSize(engine);
  const broadcast = ![a.shape, b.shape, cond.shape].every((s) => sameShape(s, shape));
  const condU32 = cond.dtype === 'u32' ? cond : reinterpretAsU32(engine, cond);
  engine.run({
    kernel: whereKernel,
    bindings: { lhs: a, rhs: b, cond: condU32, out: o },
    uniforms: { bp: { ...broadcastUniform(shape, a.shape, b.shape, cond.shape) } },
    overrides: { WG: wg, BROADCAST: broadcast ? 1 : 0 },
    workgroups: grid1d(o.size, wg, engine.limits.maxComputeWorkgroupsPerDimension),
  });
  if (condU32 !== cond) condU32.dispose();
  return o;
}

function reinterpretAsU32(engine: Engine, t: Tensor): Tensor {
  const u = engine.empty(t.shape, 'u32', `${t.name}:u32`);
  engine.backend.copy(t.storage, u.storage, t.size * 4);
  return u;
}

const unaryOp = (op: UnaryOp) => (engine: Engine, x: Tensor, out?: Tensor) => unary(engine, op, x, {}, out);
const binaryOp = (op: BinaryOp) => (engine: Engine, a: Tensor, b: Tensor, out?: Tensor) => binary(engine, op, a, b, out);

export const neg = unaryOp('neg');
export const abs = unaryOp('abs');
export const exp = unaryOp('exp');
export const log = unaryOp('log');
export const sqrt = unaryOp('sqrt');
export const sigmoid = unaryOp('sigmoid');
export const relu = unaryOp('relu');
export const tanh = unaryOp('tanh');
export const square = unaryOp('square');
export const add = binaryOp('add');
export const sub = binaryOp('sub');
export const mul = binaryOp('mul');
export const div = binaryOp('div');
export const maximum = binaryOp('max');
export const minimum = binaryOp('min');
export const pow = binaryOp('pow');

/** min(max(x, lo), hi), NaN kept. */
export function clamp(engine: Engine, x: Tensor, lo: number, hi: number, out?: Tensor): Tensor {
  if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) throw new ParameterError('clamp [lo, hi]', [lo, hi], 'lo <= hi, neither NaN');
  return unary(engine, 'clamp', x, { a: lo, b: hi }, out);
}

/** x * scale + shift. */
export function affine(engine: Engine, x: Tensor, scale: number, shift: number, out?: Tensor): Tensor {
  return unary(engine, 'affine', x, { a: scale, b: shift }, out);
}
