// Force-directed layout of SparkNet's graph view (SCIENCE.md §1). Positions are vec2 per neuron.
//   force_i = k_r · sum_{j != i} d_ij / (|d_ij|^2 + eps^2)        d_ij = x_i - x_j   (repulsion)
//           + (k_a / wmax) · sum_j relu(w_ij) · (x_j - x_i)                          (attraction)
// Repulsion: all pairs (repel_exact, tiled in workgroup memory) or a G x G grid (repel_grid: the
// own and nearby cells exactly, far cells as point masses at their centre of mass). The grid path
// sorts neurons by cell with a stable two-pass counting sort (digits cx then cy), so every sum below
// runs in a fixed order. Attraction: a workgroup per dense row, or an invocation per CSR row; wmax is
// the largest positive stored weight, an order-free atomicMax on the f32 bits (they order as u32).
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;

const MAX_WG: u32 = 256u;
const MAX_BINS: u32 = 256u;

struct LayoutParams {
  n: u32,
  count: u32,
  row0: u32,
  rows: u32,
  k_r: f32,
  k_a: f32,
  eps2: f32,
  dt: f32,
  max_step: f32,
  has_cap: u32,
  sign: f32,
  grid: u32,
  near: u32,
  digit_div: u32,
  nblocks: u32,
}

@group(0) @binding(0) var<uniform> lp: LayoutParams;
@group(0) @binding(1) var<storage, read> pos: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> force: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> wvals: array<f32>;
@group(0) @binding(4) var<storage, read_write> wmax_acc: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> wmax_in: array<u32>;
@group(0) @binding(6) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(7) var<storage, read> col_idx: array<u32>;
@group(0) @binding(8) var<storage, read> pos_prev: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> pos_out: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> disp: array<f32>;
@group(0) @binding(11) var<storage, read> bbox_lo: array<f32>;
@group(0) @binding(12) var<storage, read> bbox_hi: array<f32>;
@group(0) @binding(13) var<storage, read_write> keys: array<u32>;
@group(0) @binding(14) var<storage, read_write> order: array<u32>;
@group(0) @binding(15) var<storage, read> keys_in: array<u32>;
@group(0) @binding(16) var<storage, read> order_in: array<u32>;
@group(0) @binding(17) var<storage, read_write> hist: array<u32>;
@group(0) @binding(18) var<storage, read> offsets: array<u32>;
@group(0) @binding(19) var<storage, read_write> cell_start: array<u32>;
@group(0) @binding(20) var<storage, read> cell_first: array<u32>;
@group(0) @binding(21) var<storage, read_write> cell_com: array<vec2<f32>>;
@group(0) @binding(22) var<storage, read> cell_com_in: array<vec2<f32>>;
@group(0) @binding(23) var<storage, read> own_keys: array<u32>;

var<workgroup> sh_pos: array<vec2<f32>, MAX_WG>;
var<workgroup> sh_max: array<u32, MAX_WG>;
var<workgroup> sh_digit: array<u32, MAX_WG>;
var<workgroup> sh_hist: array<atomic<u32>, MAX_BINS>;

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn repulsion_term(d: vec2<f32>) -> vec2<f32> {
  return d / (dot(d, d) + lp.eps2);
}

// relu that keeps NaN (max() and comparisons with NaN are unreliable on Mesa's GL driver).
fn positive_part(v: f32) -> f32 {
  if (is_nan(v)) { return v; }
  return select(v, 0.0, v < 0.0);
}

// The largest positive value of wvals[0 .. count), as f32 bits, into wmax_acc[0] (zeroed by the host).
// NaN bits exceed every finite and infinite f32's bits, so NaN wins.
@compute @workgroup_size(WG)
fn positive_max(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let t = linear_index(gid, nwg, WG);
  let stride = nwg.x * nwg.y * WG;
  var best = 0u;
  for (var e = t; e < lp.count; e += stride) {
    let v = wvals[e];
    var b = 0u;
    if (is_nan(v)) { b = 0x7fc00000u; } else if (v > 0.0) { b = bitcast<u32>(v); }
    best = max(best, b);
  }
  sh_max[lid] = best;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) { sh_max[lid] = max(sh_max[lid], sh_max[lid + s]); }
  }
  workgroupBarrier();
  if (lid == 0u && sh_max[0] != 0u) { atomicMax(&wmax_acc[0], sh_max[0]); }
}

// force[i] = k_r · sum_{j != i} repulsion_term(x_i - x_j), j ascending, positions staged by tiles of WG.
@compute @workgroup_size(WG)
fn repel_exact(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g * WG >= lp.n) { return; }
  let i = g * WG + lid;
  let in_range = i < lp.n;
  var xi = vec2<f32>(0.0);
  if (in_range) { xi = pos[i]; }
  var f = vec2<f32>(0.0);
  for (var t = 0u; t < lp.n; t += WG) {
    workgroupBarrier();
    if (t + lid < lp.n) { sh_pos[lid] = pos[t + lid]; }
    workgroupBarrier();
    let len = min(WG, lp.n - t);
    for (var k = 0u; k < len; k++) {
      if (t + k != i) { f += repulsion_term(xi - sh_pos[k]); }
    }
  }
  if (in_range) { force[i] = lp.k_r * f; }
}

// k_a / wmax, or 0 when no weight is positive (wmax_in[0] = 0).
fn attraction_scale() -> f32 {
  let bits = wmax_in[0];
  if (bits == 0u) { return 0.0; }
  return lp.k_a / bitcast<f32>(bits);
}

// force[row0 + r] += (k_a / wmax) · sum_j relu(w[r, j]) · (x_j - x_i) for the rows of one dense row
// block [rows, n]: a workgroup per row, a strided sum per invocation, then a tree.
@compute @workgroup_size(WG)
fn attract_dense(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let r = group_index(wid, nwg);
  if (r >= lp.rows) { return; }
  let i = lp.row0 + r;
  let xi = pos[i];
  let base = r * lp.n;
  var acc = vec2<f32>(0.0);
  for (var j = lid; j < lp.n; j += WG) {
    acc += positive_part(wvals[base + j]) * (pos[j] - xi);
  }
  sh_pos[lid] = acc;
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) { sh_pos[lid] = sh_pos[lid] + sh_pos[lid + s]; }
  }
  workgroupBarrier();
  if (lid == 0u) { force[i] = force[i] + attraction_scale() * sh_pos[0]; }
}

// The same over CSR rows, an invocation per row, edges in stored order; columns >= n are skipped.
@compute @workgroup_size(WG)
fn attract_csr(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= lp.n) { return; }
  let xi = pos[i];
  var acc = vec2<f32>(0.0);
  for (var e = row_ptr[i]; e < row_ptr[i + 1u]; e++) {
    let j = col_idx[e];
    if (j < lp.n) { acc += positive_part(wvals[e]) * (pos[j] - xi); }
  }
  force[i] = force[i] + attraction_scale() * acc;
}

// pos_out = pos + step, step = sign · dt · force shortened to max_step when longer (has_cap);
// disp = |pos_out - pos_prev| (the summands of the learning temperature).
@compute @workgroup_size(WG)
fn integrate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= lp.n) { return; }
  var delta = (lp.sign * lp.dt) * force[i];
  if (lp.has_cap != 0u) {
    let len = length(delta);
    if (!is_nan(len) && len > lp.max_step) { delta = delta * (lp.max_step / len); }
  }
  let x = pos[i] + delta;
  pos_out[i] = x;
  disp[i] = length(x - pos_prev[i]);
}

// The grid cell of each neuron: the square [lo, lo + extent]^2 cut into G x G cells (extent the larger
// side of the bounding box), key = cy · G + cx, clamped to the grid; NaN coordinates go to 0.
fn cell_coordinate(v: f32, lo: f32, h: f32) -> u32 {
  let u = (v - lo) / h;
  if (is_nan(u)) { return 0u; }
  return u32(clamp(u, 0.0, f32(lp.grid - 1u)));
}

@compute @workgroup_size(WG)
fn grid_cells(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= lp.n) { return; }
  let extent = max(bbox_hi[0] - bbox_lo[0], bbox_hi[1] - bbox_lo[1]);
  var h = extent / f32(lp.grid);
  if (!is_finite_bits(h) || !(h > 0.0)) { h = 1.0; }
  let p = pos[i];
  keys[i] = cell_coordinate(p.y, bbox_lo[1], h) * lp.grid + cell_coordinate(p.x, bbox_lo[0], h);
  order[i] = i;
}

fn sort_digit(key: u32) -> u32 {
  return (key / lp.digit_div) % lp.grid;
}

// Counting sort, step 1: block b (WG elements) counts its digits into hist[digit · nblocks + b].
@compute @workgroup_size(WG)
fn sort_hist(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let b = group_index(wid, nwg);
  if (b >= lp.nblocks) { return; }
  for (var d = lid; d < lp.grid; d += WG) { atomicStore(&sh_hist[d], 0u); }
  workgroupBarrier();
  let p = b * WG + lid;
  if (p < lp.n) { atomicAdd(&sh_hist[sort_digit(keys_in[p])], 1u); }
  workgroupBarrier();
  for (var d = lid; d < lp.grid; d += WG) { hist[d * lp.nblocks + b] = atomicLoad(&sh_hist[d]); }
}

// Step 2 (offsets = exclusive prefix sum of hist): each element goes to its digit's offset for the
// block plus the number of earlier elements of the block with the same digit (a stable order).
@compute @workgroup_size(WG)
fn sort_scatter(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                @builtin(local_invocation_index) lid: u32) {
  let b = group_index(wid, nwg);
  if (b >= lp.nblocks) { return; }
  let p = b * WG + lid;
  var digit = 0xffffffffu;
  if (p < lp.n) { digit = sort_digit(keys_in[p]); }
  sh_digit[lid] = digit;
  workgroupBarrier();
  if (p >= lp.n) { return; }
  var rank = 0u;
  for (var k = 0u; k < lid; k++) {
    if (sh_digit[k] == digit) { rank++; }
  }
  let dest = offsets[digit * lp.nblocks + b] + rank;
  keys[dest] = keys_in[p];
  order[dest] = order_in[p];
}

// cell_start[c] = the first position of the sorted keys that is >= c, for c in [0, G^2].
@compute @workgroup_size(WG)
fn cell_ranges(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = linear_index(gid, nwg, WG);
  if (c > lp.grid * lp.grid) { return; }
  var lo = 0u;
  var hi = lp.n;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (keys_in[mid] < c) { lo = mid + 1u; } else { hi = mid; }
  }
  cell_start[c] = lo;
}

// The centre of mass of each cell's members, summed in sorted order (0 for an empty cell).
@compute @workgroup_size(WG)
fn cell_mass(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = linear_index(gid, nwg, WG);
  if (c >= lp.grid * lp.grid) { return; }
  let first = cell_first[c];
  let last = cell_first[c + 1u];
  var acc = vec2<f32>(0.0);
  for (var k = first; k < last; k++) { acc += pos[order_in[k]]; }
  if (last > first) { acc = acc / f32(last - first); }
  cell_com[c] = acc;
}

fn near_cell(a: u32, b: u32) -> bool {
  return max(a, b) - min(a, b) <= lp.near;
}

// Repulsion through the grid: cells in key order; a cell within `near` cells of the neuron's own
// (in x and in y) contributes each member exactly (sorted order), any other cell its count times the
// term of its centre of mass.
@compute @workgroup_size(WG)
fn repel_grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= lp.n) { return; }
  let xi = pos[i];
  let own = own_keys[i];
  let ox = own % lp.grid;
  let oy = own / lp.grid;
  var f = vec2<f32>(0.0);
  for (var cy = 0u; cy < lp.grid; cy++) {
    let near_row = near_cell(cy, oy);
    for (var cx = 0u; cx < lp.grid; cx++) {
      let c = cy * lp.grid + cx;
      let first = cell_first[c];
      let last = cell_first[c + 1u];
      if (last == first) { continue; }
      if (near_row && near_cell(cx, ox)) {
        for (var k = first; k < last; k++) {
          let j = order_in[k];
          if (j != i) { f += repulsion_term(xi - pos[j]); }
        }
      } else {
        f += f32(last - first) * repulsion_term(xi - cell_com_in[c]);
      }
    }
  }
  force[i] = lp.k_r * f;
}
