// The softmax family along one axis of a tensor viewed as [outer, len, inner]: softmax, log-softmax,
// StableMax and log-StableMax (SCIENCE.md §2), and the entropy of distributions along the axis.
// Rows (inner == 1): one workgroup per row, strided loops, fixed-order tree reductions in workgroup
// memory. Columns (inner > 1): one invocation per (outer, inner) column walking the axis.
// Long axes take three steps instead: chunk partials, a combine per slice, an elementwise apply.
// The reason is llvmpipe: it ends every loop of an invocation once the invocation has run 65535 loop
// iterations in all (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS, shared by all loops, never reset), so no
// invocation here may loop more than that; src/kernels/softmax.ts picks the path that keeps under it.
// Every sum is two-level (blocks of BLOCK terms, then the block sums) so that long axes stay accurate;
// the order is fixed, so results are bit-identical from run to run.
// StableMax is softmax of log s(x): s(x_i) / sum_j s(x_j) = exp(ls_i - max ls) / sum_j exp(ls_j - max ls),
// which never overflows and keeps log-StableMax exact where s(x_i) / sum would underflow.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;
override LOG: bool = false;
override STABLE: bool = false;

const BLOCK: u32 = 256u;

struct AxisParams {
  outer: u32,
  len: u32,
  inner: u32,
}

struct EntropyParams {
  outer: u32,
  len: u32,
  inner: u32,
  eps: f32,
  scale: f32,
}

struct ChunkParams {
  outer: u32,
  len: u32,
  inner: u32,
  chunk: u32,
  chunks: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> sp: AxisParams;
@group(0) @binding(3) var<storage, read> p: array<f32>;
@group(0) @binding(4) var<storage, read_write> h: array<f32>;
@group(0) @binding(5) var<uniform> ep: EntropyParams;

// Long axes: partials per (outer, chunk, inner), then per-slice statistics per (outer, inner).
@group(0) @binding(6) var<uniform> cp: ChunkParams;
@group(0) @binding(7) var<storage, read_write> part_max: array<f32>;
@group(0) @binding(8) var<storage, read_write> part_sum: array<f32>;
@group(0) @binding(9) var<storage, read> chunk_max: array<f32>;
@group(0) @binding(10) var<storage, read> chunk_sum: array<f32>;
@group(0) @binding(11) var<storage, read_write> stat_max: array<f32>;
@group(0) @binding(12) var<storage, read_write> stat_sum: array<f32>;
@group(0) @binding(13) var<storage, read> slice_max: array<f32>;
@group(0) @binding(14) var<storage, read> slice_sum: array<f32>;

// Rows: WG is a power of two.
var<workgroup> red: array<f32, WG>;

fn max_or_nan(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  return select(b, a, a > b);
}

// log(1 + v) for v >= 0, accurate for small v (Goldberg's correction).
fn log1p_pos(v: f32) -> f32 {
  if (!is_finite_bits(v)) { return v; }
  let u = 1.0 + v;
  let d = u - 1.0;
  if (d == 0.0) { return v; }
  return log(u) * (v / d);
}

// log s(v): log(1 + v) for v >= 0, -log(1 - v) for v < 0.
fn log_s(v: f32) -> f32 {
  if (is_nan(v)) { return v; }
  if (v >= 0.0) { return log1p_pos(v); }
  return -log1p_pos(-v);
}

fn logit_of(v: f32) -> f32 {
  if (STABLE) { return log_s(v); }
  return v;
}

// q · log(q + eps), with 0 · log 0 taken as 0 and NaN kept.
fn entropy_term(q: f32, eps: f32) -> f32 {
  if (is_nan(q)) { return q; }
  if (q == 0.0) { return 0.0; }
  return q * log(q + eps);
}

fn tree_max(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = max_or_nan(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn tree_sum(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn normalized(v: f32, total: f32, log_total: f32, bad: bool) -> f32 {
  let r = select(v / total, v - log_total, LOG);
  return select(r, nan_f32(), bad);
}

// Pass 1 stores the logit t, pass 2 stores t - m (LOG) or exp(t - m), pass 3 normalizes in place.
@compute @workgroup_size(WG)
fn softmax_rows(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= sp.outer) { return; }
  let n = sp.len;
  let base = row * n;
  var mx = -inf_f32();
  for (var i = lid; i < n; i += WG) {
    let t = logit_of(x[base + i]);
    y[base + i] = t;
    mx = max_or_nan(mx, t);
  }
  let m = tree_max(lid, mx);
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var i = lid; i < n; i += WG) {
    let d = y[base + i] - m;
    let e = exp(d);
    y[base + i] = select(e, d, LOG);
    blk += e;
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  let total = tree_sum(lid, acc + blk);
  let log_total = log(total);
  let bad = !is_finite_bits(m);
  for (var i = lid; i < n; i += WG) {
    y[base + i] = normalized(y[base + i], total, log_total, bad);
  }
}

@compute @workgroup_size(WG)
fn softmax_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let col = linear_index(gid, nwg, WG);
  let stride = sp.inner;
  if (col >= sp.outer * stride) { return; }
  let n = sp.len;
  let base = (col / stride) * n * stride + col % stride;
  var m = -inf_f32();
  for (var j = 0u; j < n; j++) {
    let t = logit_of(x[base + j * stride]);
    y[base + j * stride] = t;
    m = max_or_nan(m, t);
  }
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var j = 0u; j < n; j++) {
    let d = y[base + j * stride] - m;
    let e = exp(d);
    y[base + j * stride] = select(e, d, LOG);
    blk += e;
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  let total = acc + blk;
  let log_total = log(total);
  let bad = !is_finite_bits(m);
  for (var j = 0u; j < n; j++) {
    y[base + j * stride] = normalized(y[base + j * stride], total, log_total, bad);
  }
}

@compute @workgroup_size(WG)
fn entropy_rows(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= ep.outer) { return; }
  let n = ep.len;
  let base = row * n;
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var i = lid; i < n; i += WG) {
    blk += entropy_term(p[base + i], ep.eps);
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  let total = tree_sum(lid, acc + blk);
  if (lid == 0u) { h[row] = without_negative_zero(-total * ep.scale); }
}

@compute @workgroup_size(WG)
fn entropy_columns(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let col = linear_index(gid, nwg, WG);
  let stride = ep.inner;
  if (col >= ep.outer * stride) { return; }
  let n = ep.len;
  let base = (col / stride) * n * stride + col % stride;
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var j = 0u; j < n; j++) {
    blk += entropy_term(p[base + j * stride], ep.eps);
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  h[col] = without_negative_zero(-(acc + blk) * ep.scale);
}

struct ChunkView {
  base: u32,
  stride: u32,
  start: u32,
  end: u32,
}

// Invocation id = (o * chunks + c) * inner + k walks elements [start, end) of chunk c of slice (o, k).
fn chunk_view(id: u32) -> ChunkView {
  let k = id % cp.inner;
  let rest = id / cp.inner;
  let c = rest % cp.chunks;
  let o = rest / cp.chunks;
  let start = c * cp.chunk;
  return ChunkView(o * cp.len * cp.inner + k, cp.inner, start, min(cp.len, start + cp.chunk));
}

// Writes the logits t into y; part_max = max t over the chunk, part_sum = sum exp(t - part_max).
@compute @workgroup_size(WG)
fn softmax_chunk_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = linear_index(gid, nwg, WG);
  if (id >= cp.outer * cp.chunks * cp.inner) { return; }
  let v = chunk_view(id);
  var m = -inf_f32();
  for (var j = v.start; j < v.end; j++) {
    let t = logit_of(x[v.base + j * v.stride]);
    y[v.base + j * v.stride] = t;
    m = max_or_nan(m, t);
  }
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var j = v.start; j < v.end; j++) {
    blk += exp(y[v.base + j * v.stride] - m);
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  part_max[id] = m;
  part_sum[id] = select(0.0, acc + blk, is_finite_bits(m));
}

// stat_max = max over chunks; stat_sum = sum of the chunks' sums rescaled to it (its log when LOG).
@compute @workgroup_size(WG)
fn softmax_chunk_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = linear_index(gid, nwg, WG);
  if (id >= cp.outer * cp.inner) { return; }
  let first = (id / cp.inner) * cp.chunks * cp.inner + id % cp.inner;
  var m = -inf_f32();
  for (var c = 0u; c < cp.chunks; c++) {
    m = max_or_nan(m, chunk_max[first + c * cp.inner]);
  }
  var total = 0.0;
  for (var c = 0u; c < cp.chunks; c++) {
    let mc = chunk_max[first + c * cp.inner];
    if (is_finite_bits(mc)) { total += chunk_sum[first + c * cp.inner] * exp(mc - m); }
  }
  stat_max[id] = m;
  stat_sum[id] = select(total, log(total), LOG);
}

// y holds the logits; normalizes each element with its slice's statistics.
@compute @workgroup_size(WG)
fn softmax_chunk_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= cp.outer * cp.len * cp.inner) { return; }
  let s = (i / (cp.len * cp.inner)) * cp.inner + i % cp.inner;
  let m = slice_max[s];
  let d = y[i] - m;
  let r = select(exp(d) / slice_sum[s], d - slice_sum[s], LOG);
  y[i] = select(r, nan_f32(), !is_finite_bits(m));
}

@compute @workgroup_size(WG)
fn entropy_chunk_partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = linear_index(gid, nwg, WG);
  if (id >= cp.outer * cp.chunks * cp.inner) { return; }
  let v = chunk_view(id);
  var acc = 0.0;
  var blk = 0.0;
  var c = 0u;
  for (var j = v.start; j < v.end; j++) {
    blk += entropy_term(p[v.base + j * v.stride], ep.eps);
    c += 1u;
    if (c == BLOCK) { acc += blk; blk = 0.0; c = 0u; }
  }
  part_sum[id] = acc + blk;
}

@compute @workgroup_size(WG)
fn entropy_chunk_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = linear_index(gid, nwg, WG);
  if (id >= cp.outer * cp.inner) { return; }
  let first = (id / cp.inner) * cp.chunks * cp.inner + id % cp.inner;
  var total = 0.0;
  for (var c = 0u; c < cp.chunks; c++) {
    total += chunk_sum[first + c * cp.inner];
  }
  h[id] = without_negative_zero(-total * ep.scale);
}
