// gather: out[o, j, i] = x[o, indices[j], i] with x viewed as [outer, len, inner] around the axis and
// the indices flattened to m entries. Elements move as u32 bits (every dtype is bound as its u32
// view); an index outside [0, len) yields the bits gp.fill (NaN for f32, 0 for i32 and u32).
// #include "lib/grid.wgsl"

override WG: u32 = 64;

struct GatherParams {
  // Output elements: outer * m * inner.
  n: u32,
  inner: u32,
  m: u32,
  len: u32,
  fill: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<uniform> gp: GatherParams;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

// The element of x that output element `o` reads, or -1 when its index is out of range.
fn source_of(o: u32) -> i32 {
  let col = o % gp.inner;
  let row = o / gp.inner;
  let j = row % gp.m;
  let outer = row / gp.m;
  let k = indices[j];
  if (k < 0 || u32(k) >= gp.len) { return -1; }
  return i32((outer * gp.len + u32(k)) * gp.inner + col);
}

@compute @workgroup_size(WG)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= gp.n) { return; }
  let s = source_of(o);
  out[o] = select(x[max(s, 0)], gp.fill, s < 0);
}
