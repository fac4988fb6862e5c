import { type FunctionInfo, ResourceType, type TypeInfo, type VariableInfo, WgslReflect } from 'wgsl_reflect';
import type { DType } from './dtype.js';
import { EmergentError, ParameterError } from './errors.js';
import type { ShaderSource } from './shader-source.js';

/** A storage buffer the entry point uses, as reflected from its WGSL. */
export interface StorageBinding {
  kind: 'storage';
  name: string;
  group: number;
  binding: number;
  readOnly: boolean;
  dtype: DType;
  /** Scalars per array element (4 for array<vec4f>). */
  components: number;
}

/** A field of a uniform struct, with its byte layout. */
export interface UniformField {
  name: string;
  offset: number;
  scalar: DType;
  /** Scalars in the field (vector width times array length). */
  length: number;
  /** Bytes between array elements (0 for a scalar or a vector). */
  stride: number;
  /** Scalars per array element. */
  components: number;
}

export interface UniformBinding {
  kind: 'uniform';
  name: string;
  group: number;
  binding: number;
  /** Bytes, rounded up to 16 as the uniform address space requires. */
  size: number;
  fields: UniformField[];
}

export type ReflectedBinding = StorageBinding | UniformBinding;

/** What an entry point needs bound, and the overrides it reads. */
export interface EntryPointLayout {
  shader: ShaderSource;
  entryPoint: string;
  bindings: ReflectedBinding[];
  /** Bind group indices in use, ascending. */
  groups: number[];
  /** Overrides the entry point (or a function it calls) reads: they key its pipeline. */
  overrides: string[];
  /** Every override the module declares; others given to a launch are ignored for this entry point. */
  declaredOverrides: string[];
  workgroupSize: [number, number, number] | null;
}

const SCALARS: Record<string, DType> = { f32: 'f32', i32: 'i32', u32: 'u32', f: 'f32', i: 'i32', u: 'u32' };

/** Splits a WGSL type name such as "vec4u", "vec3<f32>", "atomic<u32>", "i32" into scalar and width. */
function scalarOf(typeName: string, where: string): { scalar: DType; components: number } {
  const t = typeName.replace(/\s+/g, '');
  const atomic = /^atomic<(\w+)>$/.exec(t);
  if (atomic) return scalarOf(atomic[1], where);
  if (t in SCALARS && t.length === 3) return { scalar: SCALARS[t], components: 1 };
  const vec = /^vec([234])(?:<(\w+)>|([fiu]))$/.exec(t);
  if (vec) {
    const s = SCALARS[vec[2] ?? vec[3]];
    if (s) return { scalar: s, components: Number(vec[1]) };
  }
  throw new EmergentError(`${where}: type '${typeName}' is not supported (use f32, i32, u32 or their vectors)`);
}

function elementTypeName(type: TypeInfo): string {
  const name = type.getTypeName();
  const arr = /^array<(.+?)(?:,\s*\d+)?>$/.exec(name.replace(/\s+/g, ''));
  return arr ? arr[1] : name;
}

function reflectVariable(v: VariableInfo, shaderName: string): ReflectedBinding {
  const where = `${shaderName}: binding '${v.name}'`;
  if (v.resourceType === ResourceType.Storage) {
    const { scalar, components } = scalarOf(elementTypeName(v.type), where);
    return { kind: 'storage', name: v.name, group: v.group, binding: v.binding, readOnly: v.access !== 'read_write', dtype: scalar, components };
  }
  if (v.resourceType === ResourceType.Uniform) {
    const members = v.members;
    if (!members) throw new EmergentError(`${where}: a uniform must be a struct`);
    const fields = members.map((m): UniformField => {
      const fieldWhere = `${where}.${m.name}`;
      if (m.isArray) {
        const { scalar, components } = scalarOf(elementTypeName(m.type), fieldWhere);
        return { name: m.name, offset: m.offset, scalar, components, length: m.count * components, stride: m.stride };
      }
      const { scalar, components } = scalarOf(m.type.getTypeName(), fieldWhere);
      return { name: m.name, offset: m.offset, scalar, components, length: components, stride: 0 };
    });
    return { kind: 'uniform', name: v.name, group: v.group, binding: v.binding, size: Math.ceil(v.size / 16) * 16, fields };
  }
  throw new EmergentError(`${where}: only storage buffers and uniform structs are supported`);
}

/**
 * Overrides read by an entry point or anything it calls. wgsl_reflect lists only those in the entry
 * point's own attributes, so the bodies of the reachable functions are scanned for the names as well.
 */
function overridesReachedFrom(entry: FunctionInfo, all: string[], lines: string[]): string[] {
  const names = new Set<string>();
  const seen = new Set<FunctionInfo>();
  const visit = (f: FunctionInfo) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const o of f.overrides) names.add(o.name);
    const body = lines.slice(Math.max(0, f.startLine - 1), f.endLine).join('\n');
    for (const o of all) if (new RegExp(`\\b${o}\\b`).test(body)) names.add(o);
    for (const c of f.calls) visit(c);
  };
  visit(entry);
  return all.filter((o) => names.has(o));
}

const bySource = new WeakMap<ShaderSource, Map<string, EntryPointLayout>>();
const byText = new Map<string, Map<string, EntryPointLayout>>();

/** Reflects the compute entry points of a shader (cached by the source object, then by its text). */
export function reflectShader(shader: ShaderSource): Map<string, EntryPointLayout> {
  let entries = bySource.get(shader);
  if (entries) return entries;
  const key = `${shader.name}\u0000${shader.code}`;
  entries = byText.get(key);
  if (entries) {
    bySource.set(shader, entries);
    return entries;
  }
  let reflect: WgslReflect;
  try {
    reflect = new WgslReflect(shader.code);
  } catch (e) {
    throw new EmergentError(`${shader.name}: WGSL could not be parsed for reflection: ${(e as Error).message}`);
  }
  entries = new Map();
  const overrideNames = [...new Set(reflect.overrides.map((o) => o.name))];
  const lines = shader.code.split('\n');
  for (const f of reflect.entry.compute) {
    const bindings = f.resources
      .map((v) => reflectVariable(v, shader.name))
      .sort((a, b) => a.group - b.group || a.binding - b.binding);
    entries.set(f.name, {
      shader,
      entryPoint: f.name,
      bindings,
      groups: [...new Set(bindings.map((b) => b.group))],
      overrides: overridesReachedFrom(f, overrideNames, lines),
      declaredOverrides: overrideNames,
      workgroupSize: f.workgroupSize,
    });
  }
  byText.set(key, entries);
  bySource.set(shader, entries);
  return entries;
}

export function entryPointLayout(shader: ShaderSource, entryPoint: string): EntryPointLayout {
  const entries = reflectShader(shader);
  const layout = entries.get(entryPoint);
  if (!layout) {
    const known = [...entries.keys()].join(', ') || 'none';
    throw new ParameterError(`entryPoint of ${shader.name}`, entryPoint, `one of the shader's compute entry points (${known})`);
  }
  return layout;
}

export type UniformValue = number | readonly number[] | ArrayLike<number>;
export type UniformValues = Record<string, UniformValue>;

/** Writes a uniform struct's values into `view` at `base`, as the reflected layout says. */
export function packUniform(u: UniformBinding, values: UniformValues | undefined, view: DataView, base: number, kernel: string): void {
  for (const f of u.fields) {
    const v = values?.[f.name];
    if (v === undefined) throw new ParameterError(`${kernel}: uniform ${u.name}.${f.name}`, v, `a value (${f.scalar} x ${f.length})`);
    const scalars: ArrayLike<number> = typeof v === 'number' ? [v] : v;
    if (scalars.length !== f.length) {
      throw new ParameterError(`${kernel}: uniform ${u.name}.${f.name}`, Array.from(scalars), `${f.length} value(s) of ${f.scalar}`);
    }
    for (let i = 0; i < f.length; i++) {
      const off = base + f.offset + (f.stride ? Math.floor(i / f.components) * f.stride + (i % f.components) * 4 : i * 4);
      const x = scalars[i];
      if (f.scalar === 'f32') view.setFloat32(off, x, true);
      else if (f.scalar === 'i32') view.setInt32(off, x, true);
      else view.setUint32(off, x, true);
    }
  }
  if (values) {
    for (const k of Object.keys(values)) {
      if (!u.fields.some((f) => f.name === k)) {
        throw new ParameterError(`${kernel}: uniform ${u.name}.${k}`, values[k], `one of the struct's fields (${u.fields.map((f) => f.name).join(', ')})`);
      }
    }
  }
}
