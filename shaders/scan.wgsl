// Prefix sums along one axis of a tensor viewed as [outer, len, inner]: row r = (o, c) holds the
// elements (o * len + k) * inner + c, k = 0..len-1, read in reverse when REVERSE.
// Long rows: scan_block scans blocks of E * WG elements: each invocation scans E consecutive
// elements in registers, the WG invocation totals are scanned in workgroup memory (raking, in few
// barriers: they cost much on software adapters), and each block's total goes to block_sums; the
// block totals are scanned (exclusive) by the same entry points, and add_offsets adds them back.
// Short rows: scan_serial gives each row to one invocation.
// Values travel as u32 bits (every dtype is bound as its u32 view); combine() adds them as f32
// (KIND 0) or as wrapping integers (KIND 1), so one set of entry points serves every dtype and
// level. Fixed order: deterministic.
// #include "lib/grid.wgsl"

override WG: u32 = 256;
override KIND: u32 = 0;
override EXCLUSIVE: bool = false;
override REVERSE: bool = false;

// Elements per invocation in a block.
const E: u32 = 16u;
// Invocations that scan the invocation totals, in runs of WG / RAKE; WG is a power of two <= 256.
const RAKE: u32 = 16u;

struct ScanParams {
  rows: u32,
  len: u32,
  inner: u32,
  // Blocks of E * WG elements per row.
  blocks: u32,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
@group(0) @binding(2) var<storage, read_write> block_sums: array<u32>;
@group(0) @binding(3) var<storage, read> offsets: array<u32>;
@group(0) @binding(4) var<uniform> scan_params: ScanParams;

var<workgroup> partial: array<u32, 256>;
var<workgroup> runs: array<u32, RAKE>;
// This invocation's E elements, in scan order.
var<private> seg: array<u32, E>;

fn combine(a: u32, b: u32) -> u32 {
  if (KIND == 0u) {
    return bitcast<u32>(bitcast<f32>(a) + bitcast<f32>(b));
  }
  return a + b;
}

fn element_index(row: u32, k: u32) -> u32 {
  let kk = select(k, scan_params.len - 1u - k, REVERSE);
  if (scan_params.inner == 1u) { return row * scan_params.len + kk; }
  let o = row / scan_params.inner;
  let c = row - o * scan_params.inner;
  return (o * scan_params.len + kk) * scan_params.inner + c;
}

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Row and block of a scan_block workgroup; z = 0 for the workgroups past the last block.
fn block_of(wid: vec3<u32>, nwg: vec3<u32>) -> vec3<u32> {
  let g = group_index(wid, nwg);
  let row = g / scan_params.blocks;
  return vec3<u32>(row, g - row * scan_params.blocks, u32(g < scan_params.rows * scan_params.blocks));
}

// Position in its row of the first of an invocation's E elements.
fn segment_start(part: u32, lid: u32) -> u32 {
  return (part * WG + lid) * E;
}

// The total of the invocations before `lid` in the workgroup (unused by invocation 0, which has
// none); invocation 0 stores the workgroup's total in block_sums[slot].
fn workgroup_prefix(lid: u32, total: u32, slot: u32) -> u32 {
  partial[lid] = total;
  workgroupBarrier();
  let rake = min(RAKE, WG);
  let run = WG / rake;
  if (lid < rake) {
    let r0 = lid * run;
    var sum = partial[r0];
    for (var j = 1u; j < run; j++) {
      sum = combine(sum, partial[r0 + j]);
      partial[r0 + j] = sum;
    }
    runs[lid] = sum;
  }
  workgroupBarrier();
  if (lid == 0u) {
    var sum = runs[0];
    runs[0] = 0u;
    for (var j = 1u; j < rake; j++) {
      let t = runs[j];
      runs[j] = sum;
      sum = combine(sum, t);
    }
    block_sums[slot] = sum;
  }
  workgroupBarrier();
  if (lid % run == 0u) { return runs[lid / run]; }
  if (lid < run) { return partial[lid - 1u]; }
  return combine(runs[lid / run], partial[lid - 1u]);
}

// Scans seg in place, as part of the block: invocation 0 keeps its values (-0 stays -0), the
// others add the total before them.
fn scan_segment(lid: u32, slot: u32) {
  for (var j = 1u; j < E; j++) {
    seg[j] = combine(seg[j - 1u], seg[j]);
  }
  let before = workgroup_prefix(lid, seg[E - 1u], slot);
  if (EXCLUSIVE) {
    for (var j = E - 1u; j > 0u; j--) {
      seg[j] = select(combine(before, seg[j - 1u]), seg[j - 1u], lid == 0u);
    }
    seg[0] = select(before, 0u, lid == 0u);
  } else if (lid != 0u) {
    for (var j = 0u; j < E; j++) {
      seg[j] = combine(before, seg[j]);
    }
  }
}

@compute @workgroup_size(WG)
fn scan_block(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = block_of(wid, nwg);
  if (at.z == 0u) { return; }
  let k0 = segment_start(at.y, lid.x);
  for (var j = 0u; j < E; j++) {
    let k = k0 + j;
    seg[j] = 0u;
    if (k < scan_params.len) { seg[j] = x[element_index(at.x, k)]; }
  }
  scan_segment(lid.x, at.x * scan_params.blocks + at.y);
  for (var j = 0u; j < E; j++) {
    let k = k0 + j;
    if (k < scan_params.len) { y[element_index(at.x, k)] = seg[j]; }
  }
}

// Blocks 1.. of each row get the scanned total of the blocks before them (block 0's is the identity).
fn offset_target(wid: vec3<u32>, nwg: vec3<u32>) -> vec3<u32> {
  let g = group_index(wid, nwg);
  let later = scan_params.blocks - 1u;
  let row = g / later;
  let part = 1u + g - row * later;
  return vec3<u32>(row, part, u32(g < scan_params.rows * later));
}

@compute @workgroup_size(WG)
fn add_offsets(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let at = offset_target(wid, nwg);
  if (at.z == 0u) { return; }
  let off = offsets[at.x * scan_params.blocks + at.y];
  for (var j = 0u; j < E; j++) {
    let k = at.y * E * WG + j * WG + lid.x;
    if (k < scan_params.len) {
      let i = element_index(at.x, k);
      y[i] = combine(off, y[i]);
    }
  }
}

// One invocation per row, in order; the first value of an inclusive scan is copied, not added to 0.
@compute @workgroup_size(WG)
fn scan_serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = linear_index(gid, nwg, WG);
  if (row >= scan_params.rows) { return; }
  var acc = 0u;
  for (var k = 0u; k < scan_params.len; k++) {
    let i = element_index(row, k);
    let v = x[i];
    if (EXCLUSIVE) {
      y[i] = acc;
      acc = combine(acc, v);
    } else {
      acc = select(combine(acc, v), v, k == 0u);
      y[i] = acc;
    }
  }
}
