// Reductions along one axis of an input viewed as [outer, len, inner]. The axis may be cut into
// `chunks` segments of `seg` elements; a pass then writes [outer, chunks, inner] partials that the
// next pass reduces (len = chunks), until chunks = 1. Every order is fixed: runs are bit-identical.
//   rows*: inner = 1, one workgroup per (row, segment): a strided loop, then a tree in workgroup memory.
//   cols*: one invocation per (outer, segment, inner), walking its segment in order (coalesced on inner).
// OP: 0 sum, 1 max, 2 min (rows, cols); 0 argmax, 1 argmin (*_arg*). POST = 1 divides the final
// result by count - ddof (NaN when count <= ddof): mean and variance.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;
override OP: u32 = 0;
override POST: u32 = 0;

const MAX_WG: u32 = 256u;
const NO_INDEX: u32 = 0xffffffffu;

struct Params {
  len: u32,
  seg: u32,
  chunks: u32,
  inner: u32,
  n_out: u32,
  count: u32,
  ddof: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> center: array<f32>;
@group(0) @binding(4) var<storage, read> part_val: array<f32>;
@group(0) @binding(5) var<storage, read> part_idx: array<i32>;
@group(0) @binding(6) var<storage, read_write> out_val: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_idx: array<i32>;

var<workgroup> sh_val: array<f32, MAX_WG>;
var<workgroup> sh_idx: array<u32, MAX_WG>;

fn identity() -> f32 {
  switch OP {
    case 1u: { return -inf_f32(); }
    case 2u: { return inf_f32(); }
    default: { return 0.0; }
  }
}

// Max and min keep NaN explicitly: comparisons with NaN are unreliable on some drivers.
fn combine(acc: f32, v: f32) -> f32 {
  switch OP {
    case 1u: {
      if (is_nan(acc) || is_nan(v)) { return nan_f32(); }
      return select(acc, v, v > acc);
    }
    case 2u: {
      if (is_nan(acc) || is_nan(v)) { return nan_f32(); }
      return select(acc, v, v < acc);
    }
    default: { return acc + v; }
  }
}

fn finish(acc: f32, count: u32, ddof: u32) -> f32 {
  if (POST == 0u) { return acc; }
  if (count <= ddof) { return nan_f32(); }
  return acc / f32(count - ddof);
}

// Whether (v, i) comes before (best_v, best_i): a NaN first, then the larger (argmax) or smaller
// (argmin) value, then the smaller index. Independent of the order of comparison.
fn arg_better(v: f32, i: u32, best_v: f32, best_i: u32) -> bool {
  if (i == NO_INDEX) { return false; }
  if (best_i == NO_INDEX) { return true; }
  let v_nan = is_nan(v);
  if (is_nan(best_v)) { return v_nan && i < best_i; }
  if (v_nan) { return true; }
  if (v == best_v) { return i < best_i; }
  if (OP == 1u) { return v < best_v; }
  return v > best_v;
}

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// [begin, end) of segment `c` of an axis of length `len`.
fn segment(c: u32, len: u32, seg: u32) -> vec2<u32> {
  let begin = min(c * seg, len);
  return vec2<u32>(begin, min(begin + seg, len));
}

fn tree_reduce(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (lid < stride) { sh_val[lid] = combine(sh_val[lid], sh_val[lid + stride]); }
  }
  workgroupBarrier();
}

fn tree_reduce_arg(lid: u32) {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (lid < stride) {
      let j = lid + stride;
      if (arg_better(sh_val[j], sh_idx[j], sh_val[lid], sh_idx[lid])) {
        sh_val[lid] = sh_val[j];
        sh_idx[lid] = sh_idx[j];
      }
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g >= params.n_out) { return; }
  let base = (g / params.chunks) * params.len;
  let range = segment(g % params.chunks, params.len, params.seg);
  var acc = identity();
  for (var k = range.x + lid; k < range.y; k += WG) {
    acc = combine(acc, x[base + k]);
  }
  sh_val[lid] = acc;
  tree_reduce(lid);
  if (lid == 0u) { out[g] = finish(sh_val[0], params.count, params.ddof); }
}

@compute @workgroup_size(WG)
fn rows_sqdev(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g >= params.n_out) { return; }
  let row = g / params.chunks;
  let base = row * params.len;
  let range = segment(g % params.chunks, params.len, params.seg);
  let c = center[row];
  var acc = 0.0;
  for (var k = range.x + lid; k < range.y; k += WG) {
    let d = x[base + k] - c;
    acc += d * d;
  }
  sh_val[lid] = acc;
  tree_reduce(lid);
  if (lid == 0u) { out[g] = finish(sh_val[0], params.count, params.ddof); }
}

@compute @workgroup_size(WG)
fn rows_arg(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g >= params.n_out) { return; }
  let base = (g / params.chunks) * params.len;
  let range = segment(g % params.chunks, params.len, params.seg);
  var best_v = 0.0;
  var best_i = NO_INDEX;
  for (var k = range.x + lid; k < range.y; k += WG) {
    let v = x[base + k];
    if (arg_better(v, k, best_v, best_i)) {
      best_v = v;
      best_i = k;
    }
  }
  sh_val[lid] = best_v;
  sh_idx[lid] = best_i;
  tree_reduce_arg(lid);
  if (lid == 0u) {
    out_val[g] = sh_val[0];
    out_idx[g] = i32(sh_idx[0]);
  }
}

@compute @workgroup_size(WG)
fn rows_arg_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g >= params.n_out) { return; }
  let base = (g / params.chunks) * params.len;
  let range = segment(g % params.chunks, params.len, params.seg);
  var best_v = 0.0;
  var best_i = NO_INDEX;
  for (var k = range.x + lid; k < range.y; k += WG) {
    let v = part_val[base + k];
    let i = u32(part_idx[base + k]);
    if (arg_better(v, i, best_v, best_i)) {
      best_v = v;
      best_i = i;
    }
  }
  sh_val[lid] = best_v;
  sh_idx[lid] = best_i;
  tree_reduce_arg(lid);
  if (lid == 0u) {
    out_val[g] = sh_val[0];
    out_idx[g] = i32(sh_idx[0]);
  }
}

// The position in [outer, len, inner] of invocation t of a cols* pass: (outer, segment, inner).
fn col_coords(t: u32) -> vec3<u32> {
  let i = t % params.inner;
  let rest = t / params.inner;
  return vec3<u32>(rest / params.chunks, rest % params.chunks, i);
}

@compute @workgroup_size(WG)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= params.n_out) { return; }
  let p = col_coords(t);
  let range = segment(p.y, params.len, params.seg);
  let base = p.x * params.len * params.inner + p.z;
  var acc = identity();
  for (var k = range.x; k < range.y; k++) {
    acc = combine(acc, x[base + k * params.inner]);
  }
  out[t] = finish(acc, params.count, params.ddof);
}

@compute @workgroup_size(WG)
fn cols_sqdev(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= params.n_out) { return; }
  let p = col_coords(t);
  let range = segment(p.y, params.len, params.seg);
  let base = p.x * params.len * params.inner + p.z;
  let c = center[p.x * params.inner + p.z];
  var acc = 0.0;
  for (var k = range.x; k < range.y; k++) {
    let d = x[base + k * params.inner] - c;
    acc += d * d;
  }
  out[t] = finish(acc, params.count, params.ddof);
}

@compute @workgroup_size(WG)
fn cols_arg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= params.n_out) { return; }
  let p = col_coords(t);
  let range = segment(p.y, params.len, params.seg);
  let base = p.x * params.len * params.inner + p.z;
  var best_v = 0.0;
  var best_i = NO_INDEX;
  for (var k = range.x; k < range.y; k++) {
    let v = x[base + k * params.inner];
    if (arg_better(v, k, best_v, best_i)) {
      best_v = v;
      best_i = k;
    }
  }
  out_val[t] = best_v;
  out_idx[t] = i32(best_i);
}

@compute @workgroup_size(WG)
fn cols_arg_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= params.n_out) { return; }
  let p = col_coords(t);
  let range = segment(p.y, params.len, params.seg);
  let base = p.x * params.len * params.inner + p.z;
  var best_v = 0.0;
  var best_i = NO_INDEX;
  for (var k = range.x; k < range.y; k++) {
    let v = part_val[base + k * params.inner];
    let i = u32(part_idx[base + k * params.inner]);
    if (arg_better(v, i, best_v, best_i)) {
      best_v = v;
      best_i = i;
    }
  }
  out_val[t] = best_v;
  out_idx[t] = i32(best_i);
}
