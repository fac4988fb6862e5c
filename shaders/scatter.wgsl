// scatter: out = zeros([rows, inner]); for each update i whose index k = indices[i] is in [0, rows),
// out[k, :] = updates[i, :] ('assign') or out[k, :] += updates[i, :] ('add'). Out-of-range indices are
// skipped. Every result is independent of the order in which invocations run:
//   assign: an integer atomicMax per row keeps the largest source position (what a sequential loop
//           leaves), then each output element copies its row's winner, as u32 bits (any dtype).
//   add, i32/u32: integer atomicAdd on u32 bits, exact and order-free (wrapping modulo 2^32 is
//           two's complement addition for i32 too).
//   add, f32: source positions are merge-sorted by (row, position) in log2(n) passes, then each
//           output element sums its row's segment in ascending source position, from 0.
// #include "lib/grid.wgsl"

override WG: u32 = 64;

struct ScatterParams {
  // Updates (source rows).
  n: u32,
  // Output rows.
  rows: u32,
  // Elements per row.
  inner: u32,
  // Sorted run length that a merge pass merges in pairs.
  width: u32,
}

const NO_ROW: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read> indices: array<i32>;
@group(0) @binding(1) var<uniform> sp: ScatterParams;
@group(0) @binding(2) var<storage, read_write> winner_slots: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> winner: array<u32>;
@group(0) @binding(4) var<storage, read> upd: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<storage, read_write> sum: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read> upd_f32: array<f32>;
@group(0) @binding(8) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(9) var<storage, read> perm: array<u32>;
@group(0) @binding(10) var<storage, read_write> perm_next: array<u32>;

// The output row of update `i`, or NO_ROW (which sorts last) when its index is out of range.
fn row_of(i: u32) -> u32 {
  let k = indices[i];
  if (k < 0 || u32(k) >= sp.rows) { return NO_ROW; }
  return u32(k);
}

// ---- assign -------------------------------------------------------------------------------

@compute @workgroup_size(WG)
fn assign_winners(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= sp.n) { return; }
  let r = row_of(i);
  if (r == NO_ROW) { return; }
  // Slot 0 means "no update": positions are stored plus one.
  atomicMax(&winner_slots[r], i + 1u);
}

// The element of the updates that output element `o` takes, or -1 when its row has no update.
fn winning_source(o: u32) -> i32 {
  let w = winner[o / sp.inner];
  if (w == 0u) { return -1; }
  return i32((w - 1u) * sp.inner + o % sp.inner);
}

@compute @workgroup_size(WG)
fn assign_write(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= sp.rows * sp.inner) { return; }
  let s = winning_source(o);
  out[o] = select(upd[max(s, 0)], 0u, s < 0);
}

// ---- add, integers: the sums must start zeroed --------------------------------------------

@compute @workgroup_size(WG)
fn add_integer(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= sp.n * sp.inner) { return; }
  let r = row_of(t / sp.inner);
  if (r == NO_ROW) { return; }
  atomicAdd(&sum[r * sp.inner + t % sp.inner], upd[t]);
}

// ---- add, f32: sort source positions by (row, position), then sum each row in that order ----

@compute @workgroup_size(WG)
fn sort_iota(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= sp.n) { return; }
  perm_next[i] = i;
}

fn ordered_before(row_a: u32, pos_a: u32, row_b: u32, pos_b: u32) -> bool {
  return row_a < row_b || (row_a == row_b && pos_a < pos_b);
}

// How many entries of the sorted run perm[lo, hi) order before (row, pos).
fn count_before(lo: u32, hi: u32, row: u32, pos: u32) -> u32 {
  var a = lo;
  var b = hi;
  while (a < b) {
    let mid = (a + b) / 2u;
    let q = perm[mid];
    if (ordered_before(row_of(q), q, row, pos)) { a = mid + 1u; } else { b = mid; }
  }
  return a - lo;
}

// Merges the sorted runs perm[start, start + width) and perm[start + width, start + 2 width): each
// entry lands at its rank among both runs (all (row, position) keys are distinct).
@compute @workgroup_size(WG)
fn sort_merge(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= sp.n) { return; }
  let pair = 2u * sp.width;
  let start = i - i % pair;
  let mid = min(start + sp.width, sp.n);
  let end = min(start + pair, sp.n);
  let pos = perm[i];
  let row = row_of(pos);
  var rank: u32;
  if (i < mid) {
    rank = i - start + count_before(mid, end, row, pos);
  } else {
    rank = i - mid + count_before(start, mid, row, pos);
  }
  perm_next[start + rank] = pos;
}

// The first entry of the sorted perm whose row is >= `row`.
fn segment_start(row: u32) -> u32 {
  var a = 0u;
  var b = sp.n;
  while (a < b) {
    let mid = (a + b) / 2u;
    if (row_of(perm[mid]) < row) { a = mid + 1u; } else { b = mid; }
  }
  return a;
}

@compute @workgroup_size(WG)
fn add_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg, WG);
  if (o >= sp.rows * sp.inner) { return; }
  let row = o / sp.inner;
  let col = o % sp.inner;
  let end = segment_start(row + 1u);
  var acc = 0.0;
  for (var q = segment_start(row); q < end; q++) {
    acc = acc + upd_f32[perm[q] * sp.inner + col];
  }
  out_f32[o] = acc;
}
