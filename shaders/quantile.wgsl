// The q-quantile of |x| per row of the [outer, n, inner] view, by radix select on the bit patterns
// of |x| (non-negative floats order as u32; |NaN| lies above +Inf). Four passes, high byte first:
// `histogram` counts the next 8-bit digit of the elements whose higher bits match the prefix found
// so far (two prefixes: ranks lo and lo + 1), with integer atomics, so counts do not depend on
// order; `select_digit` walks each row's counts to the bucket holding each rank, extends the
// prefixes, clears the counts and, after the last pass, interpolates between the two values.
// Rows are taken in batches (row0 .. row0 + rows) so the counts stay small.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 256;

const BINS: u32 = 256u;

struct QuantileParams {
  row0: u32,
  rows: u32,
  n: u32,
  inner: u32,
  // Workgroups per row in `histogram`, each over `chunk` consecutive positions of the row.
  chunks: u32,
  chunk: u32,
  // Bit offset of this pass's digit, and the mask of the bits above it.
  shift: u32,
  mask: u32,
  first: u32,
  last: u32,
  // Whether rank hi = lo + 1 is needed (the interpolation weight frac > 0).
  two: u32,
  lo: u32,
  frac: f32,
}

@group(0) @binding(0) var<storage, read> values: array<f32>;
// Per row of the batch: BINS counts for rank lo, then BINS for rank hi.
@group(0) @binding(1) var<storage, read_write> hist: array<atomic<u32>>;
// Per row of the batch: prefix lo, rank of lo among the elements matching it, prefix hi, its rank.
@group(0) @binding(2) var<storage, read_write> state: array<u32>;
@group(0) @binding(3) var<storage, read_write> quantiles: array<f32>;
@group(0) @binding(4) var<uniform> qp: QuantileParams;

var<workgroup> local_hist: array<atomic<u32>, 512>;

fn element_index(row: u32, k: u32) -> u32 {
  let o = row / qp.inner;
  let c = row - o * qp.inner;
  return (o * qp.n + k) * qp.inner + c;
}

@compute @workgroup_size(WG)
fn histogram(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= qp.rows * qp.chunks) { return; }
  let row = g / qp.chunks;
  let part = g - row * qp.chunks;
  for (var b = lid.x; b < 2u * BINS; b += WG) {
    atomicStore(&local_hist[b], 0u);
  }
  workgroupBarrier();
  let want_lo = state[row * 4u] & qp.mask;
  let want_hi = state[row * 4u + 2u] & qp.mask;
  let start = part * qp.chunk;
  let end = min(start + qp.chunk, qp.n);
  for (var k = start + lid.x; k < end; k += WG) {
    let bits = bitcast<u32>(values[element_index(qp.row0 + row, k)]) & 0x7fffffffu;
    let digit = (bits >> qp.shift) & 0xffu;
    let high = bits & qp.mask;
    if (high == want_lo) { atomicAdd(&local_hist[digit], 1u); }
    if (qp.two != 0u && high == want_hi) { atomicAdd(&local_hist[BINS + digit], 1u); }
  }
  workgroupBarrier();
  for (var b = lid.x; b < 2u * BINS; b += WG) {
    let c = atomicLoad(&local_hist[b]);
    if (c != 0u) { atomicAdd(&hist[row * 2u * BINS + b], c); }
  }
}

// The bucket of `base`'s counts holding `rank`, and the rank within that bucket.
fn pick_bucket(base: u32, rank: u32) -> vec2<u32> {
  var below = 0u;
  for (var b = 0u; b < BINS; b++) {
    let c = atomicLoad(&hist[base + b]);
    if (rank < below + c) { return vec2<u32>(b, rank - below); }
    below += c;
  }
  return vec2<u32>(BINS - 1u, 0u);
}

fn interpolate(lo_bits: u32, hi_bits: u32) -> f32 {
  let v_lo = bitcast<f32>(lo_bits);
  if (qp.two == 0u || hi_bits == lo_bits) { return v_lo; }
  let v_hi = bitcast<f32>(hi_bits);
  if (is_nan(v_hi)) { return v_hi; }
  return v_lo + qp.frac * (v_hi - v_lo);
}

@compute @workgroup_size(WG)
fn select_digit(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = linear_index(gid, nwg, WG);
  if (row >= qp.rows) { return; }
  var s = vec4<u32>(0u, qp.lo, 0u, qp.lo + 1u);
  if (qp.first == 0u) {
    s = vec4<u32>(state[row * 4u], state[row * 4u + 1u], state[row * 4u + 2u], state[row * 4u + 3u]);
  }
  let base = row * 2u * BINS;
  let at_lo = pick_bucket(base, s.y);
  s.x = s.x | (at_lo.x << qp.shift);
  s.y = at_lo.y;
  if (qp.two != 0u) {
    let at_hi = pick_bucket(base + BINS, s.w);
    s.z = s.z | (at_hi.x << qp.shift);
    s.w = at_hi.y;
  }
  for (var b = 0u; b < 2u * BINS; b++) {
    atomicStore(&hist[base + b], 0u);
  }
  state[row * 4u] = s.x;
  state[row * 4u + 1u] = s.y;
  state[row * 4u + 2u] = s.z;
  state[row * 4u + 3u] = s.w;
  if (qp.last != 0u) {
    quantiles[qp.row0 + row] = interpolate(s.x, s.z);
  }
}
