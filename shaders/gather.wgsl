// gather: out[o, j, i] = x[o, indices[j], i] with x viewed as [outer, len, inner] around the axis and
// the indices flattened to m entries. An index outside [0, len) yields NaN (f32) or 0 (i32, u32).
// One entry point per dtype: the engine binds tensors by dtype.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;

struct GatherParams {
  // Output elements: outer * m * inner.
  n: u32,
  inner: u32,
  m: u32,
  len: u32,
}

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<uniform> gp: GatherParams;
@group(0) @binding(2) var<storage, read> x_f32: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(4) var<storage, read> x_i32: array<i32>;
@group(0) @binding(5) var<storage, read_write> out_i32: array<i32>;
@group(0) @binding(6) var<storage, read> x_u32: array<u32>;
@group(0) @binding(7) var<storage, read_write> out_u32: array<u32>;

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
fn gather_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= gp.n) { return; }
  let s = source_of(o);
  if (s < 0) {
    out_f32[o] = nan_f32();
  } else {
    out_f32[o] = x_f32[s];
  }
}

@compute @workgroup_size(WG)
fn gather_i32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= gp.n) { return; }
  let s = source_of(o);
  out_i32[o] = select(x_i32[max(s, 0)], 0, s < 0);
}

@compute @workgroup_size(WG)
fn gather_u32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= gp.n) { return; }
  let s = source_of(o);
  out_u32[o] = select(x_u32[max(s, 0)], 0u, s < 0);
}
