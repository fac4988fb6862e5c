import type { AnyTypedArray, DType } from '../engine/dtype.js';
import { EmergentError } from '../engine/errors.js';

/**
 * A checkpoint: a JSON header (the model's kind, parameters, counters) and named typed arrays, in one
 * binary blob: "EMCKPT01", u32 header length, the header as UTF-8 JSON, then each array's bytes at a
 * 4-byte-aligned offset. Arrays round-trip bit for bit (NaN payloads and -0 included).
 */
export interface Checkpoint<H> {
  header: H;
  arrays: Record<string, AnyTypedArray>;
}

const MAGIC = 'EMCKPT01';

interface Layout {
  name: string;
  dtype: DType;
  length: number;
  offset: number;
}

function dtypeOf(a: AnyTypedArray): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  return 'u32';
}

export function encodeCheckpoint<H>(c: Checkpoint<H>): Uint8Array {
  const layouts: Layout[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(c.arrays)) {
    layouts.push({ name, dtype: dtypeOf(a), length: a.length, offset });
    offset += a.byteLength;
  }
  const headerBytes = new TextEncoder().encode(JSON.stringify({ header: c.header, arrays: layouts }));
  const start = Math.ceil((MAGIC.length + 4 + headerBytes.length) / 4) * 4;
  const out = new Uint8Array(start + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, headerBytes.length, true);
  out.set(headerBytes, MAGIC.length + 4);
  for (const l of layouts) {
    const a = c.arrays[l.name];
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), start + l.offset);
  }
  return out;
}

export function decodeCheckpoint<H>(bytes: Uint8Array, what = 'checkpoint'): Checkpoint<H> {
  const magic = new TextDecoder().decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new EmergentError(`${what}: not an Emergent checkpoint (expected the header ${MAGIC})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const parsed = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, MAGIC.length + 4 + headerLength))) as { header: H; arrays: Layout[] };
  const start = Math.ceil((MAGIC.length + 4 + headerLength) / 4) * 4;
  const arrays: Record<string, AnyTypedArray> = {};
  for (const l of parsed.arrays) {
    const begin = start + l.offset;
    const end = begin + l.length * 4;
    if (end > bytes.byteLength) throw new EmergentError(`${what}: truncated (array '${l.name}' ends at byte ${end} of ${bytes.byteLength})`);
    const copy = bytes.slice(begin, end);
    arrays[l.name] = l.dtype === 'f32' ? new Float32Array(copy.buffer) : l.dtype === 'i32' ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
  }
  return { header: parsed.header, arrays };
}
