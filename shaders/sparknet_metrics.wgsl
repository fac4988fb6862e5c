// SparkNet's run metrics (SCIENCE.md §1) in fixed-order reductions: partial kernels write one record
// per workgroup, `combine` (one workgroup) reduces the records in a fixed tree and writes the metrics.
//   W records (w_dense_stats per row block, or w_csr_stats): count, mean, M2 (sum of squared
//     deviations from the mean), sum |w|, sum |w| over |i - j| <= 1, and the count of w > 0 (u32).
//     Counts, means and M2 combine by Chan et al.'s pairwise update: unlike a sum of squares, no
//     cancellation when the spread is small against the mean (a constant W has std exactly 0).
//   Vector records (vec_stats): sum M, max M, sum s, sum visits, sum v·log v, and the count of M > 1e-6.
// Output (f32 [10]): W mean, W std (population), fraction of W > 0, M mean, M max, fraction of
// M > 1e-6, s mean, visit entropy (nats), diagonal mass, layout motion.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;

const MAX_WG: u32 = 256u;
const LANES: u32 = 5u;
const W_LANES: u32 = 5u;
const M_ACTIVE: f32 = 1e-6;

struct MetricParams {
  n: u32,
  count: u32,
  row0: u32,
  chunk: u32,
  part_offset: u32,
  w_parts: u32,
  v_parts: u32,
  w_count: u32,
  w_scale: f32,
  has_motion: u32,
}

@group(0) @binding(0) var<uniform> mp: MetricParams;
@group(0) @binding(1) var<storage, read> wvals: array<f32>;
@group(0) @binding(2) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> col_idx: array<u32>;
@group(0) @binding(4) var<storage, read_write> w_part: array<f32>;
@group(0) @binding(5) var<storage, read_write> w_pos: array<u32>;
@group(0) @binding(6) var<storage, read> m_field: array<f32>;
@group(0) @binding(7) var<storage, read> s_state: array<f32>;
@group(0) @binding(8) var<storage, read> visits: array<u32>;
@group(0) @binding(9) var<storage, read_write> v_part: array<f32>;
@group(0) @binding(10) var<storage, read_write> v_cnt: array<u32>;
@group(0) @binding(11) var<storage, read> motion: array<f32>;
@group(0) @binding(12) var<storage, read_write> metrics: array<f32>;

var<workgroup> sh_f: array<array<f32, MAX_WG>, LANES>;
var<workgroup> sh_u: array<u32, MAX_WG>;

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn max_keep_nan(a: f32, b: f32) -> f32 {
  if (is_nan(a) || is_nan(b)) { return nan_f32(); }
  return select(a, b, b > a);
}

fn is_positive(v: f32) -> bool {
  return !is_nan(v) && v > 0.0;
}

fn stage(lid: u32, a: f32, b: f32, c: f32, d: f32, e: f32, u: u32) {
  sh_f[0][lid] = a;
  sh_f[1][lid] = b;
  sh_f[2][lid] = c;
  sh_f[3][lid] = d;
  sh_f[4][lid] = e;
  sh_u[lid] = u;
}

// Reduces every lane into index 0 in a fixed tree: W records (Chan's update on lanes 0-2, sums on
// 3-4) or vector records (maximum on lane 1, sums on the others). The u32 lane is summed.
fn tree(lid: u32, w_records: bool) {
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (lid < s) {
      if (w_records) {
        let merged = chan(vec3<f32>(sh_f[0][lid], sh_f[1][lid], sh_f[2][lid]), vec3<f32>(sh_f[0][lid + s], sh_f[1][lid + s], sh_f[2][lid + s]));
        sh_f[0][lid] = merged.x;
        sh_f[1][lid] = merged.y;
        sh_f[2][lid] = merged.z;
        sh_f[3][lid] = sh_f[3][lid] + sh_f[3][lid + s];
        sh_f[4][lid] = sh_f[4][lid] + sh_f[4][lid + s];
      } else {
        for (var k = 0u; k < LANES; k++) {
          let a = sh_f[k][lid];
          let b = sh_f[k][lid + s];
          sh_f[k][lid] = select(a + b, max_keep_nan(a, b), k == 1u);
        }
      }
      sh_u[lid] = sh_u[lid] + sh_u[lid + s];
    }
  }
  workgroupBarrier();
}

// (count, mean, M2) of the union of two sets (Chan, Golub and LeVeque); an empty side gives the other.
fn chan(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let delta = b.y - a.y;
  let fb = b.x / n;
  return vec3<f32>(n, a.y + delta * fb, a.z + b.z + delta * delta * a.x * fb);
}

fn write_w_record(g: u32) {
  let at = mp.part_offset + g;
  for (var k = 0u; k < W_LANES; k++) { w_part[at * W_LANES + k] = sh_f[k][0]; }
  w_pos[at] = sh_u[0];
}

// One dense row block [count / n rows, n] whose first row is row0: workgroup g takes the elements
// [g·chunk, (g+1)·chunk); each invocation reads its elements twice (mean, then deviations; the second
// read is served by the cache); the diagonal band entries of the rows it touches are visited directly.
@compute @workgroup_size(WG)
fn w_dense_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  let start = g * mp.chunk;
  if (start >= mp.count) { return; }
  let end = min(start + mp.chunk, mp.count);
  var sum = 0.0;
  var count = 0u;
  for (var e = start + lid; e < end; e += WG) {
    sum += wvals[e];
    count++;
  }
  let mean = select(sum / f32(count), 0.0, count == 0u);
  var m2 = 0.0;
  var total = 0.0;
  var positive = 0u;
  for (var e = start + lid; e < end; e += WG) {
    let v = wvals[e];
    m2 += (v - mean) * (v - mean);
    total += abs(v);
    if (is_positive(v)) { positive++; }
  }
  var diag = 0.0;
  let last_row = (end - 1u) / mp.n;
  for (var r = start / mp.n + lid; r <= last_row; r += WG) {
    let i = mp.row0 + r;
    for (var j = max(i, 1u) - 1u; j <= min(i + 1u, mp.n - 1u); j++) {
      let e = r * mp.n + j;
      if (e >= start && e < end) { diag += abs(wvals[e]); }
    }
  }
  stage(lid, f32(count), mean, m2, total, diag, positive);
  tree(lid, true);
  if (lid == 0u) { write_w_record(g); }
}

// CSR weights: an invocation per row (edges in stored order, read twice), a record per WG rows.
@compute @workgroup_size(WG)
fn w_csr_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  if (g * WG >= mp.n) { return; }
  let i = g * WG + lid;
  var count = 0u;
  var mean = 0.0;
  var m2 = 0.0;
  var total = 0.0;
  var diag = 0.0;
  var positive = 0u;
  if (i < mp.n) {
    let first = row_ptr[i];
    let last = row_ptr[i + 1u];
    var sum = 0.0;
    for (var e = first; e < last; e++) { sum += wvals[e]; }
    count = last - first;
    mean = select(sum / f32(count), 0.0, count == 0u);
    for (var e = first; e < last; e++) {
      let v = wvals[e];
      m2 += (v - mean) * (v - mean);
      total += abs(v);
      if (is_positive(v)) { positive++; }
      let j = col_idx[e];
      if (max(i, j) - min(i, j) <= 1u) { diag += abs(v); }
    }
  }
  stage(lid, f32(count), mean, m2, total, diag, positive);
  tree(lid, true);
  if (lid == 0u) { write_w_record(g); }
}

// M, s and visits (all [n]): workgroup g takes the elements [g·chunk, (g+1)·chunk).
@compute @workgroup_size(WG)
fn vec_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let g = group_index(wid, nwg);
  let start = g * mp.chunk;
  if (start >= mp.n) { return; }
  let end = min(start + mp.chunk, mp.n);
  var m_sum = 0.0;
  var m_max = -inf_f32();
  var s_sum = 0.0;
  var v_sum = 0.0;
  var v_xlogx = 0.0;
  var n_active = 0u;
  for (var e = start + lid; e < end; e += WG) {
    let m = m_field[e];
    m_sum += m;
    m_max = max_keep_nan(m_max, m);
    if (!is_nan(m) && m > M_ACTIVE) { n_active++; }
    s_sum += s_state[e];
    let v = f32(visits[e]);
    v_sum += v;
    if (v > 0.0) { v_xlogx += v * log(v); }
  }
  stage(lid, m_sum, m_max, s_sum, v_sum, v_xlogx, n_active);
  tree(lid, false);
  if (lid == 0u) {
    for (var k = 0u; k < LANES; k++) { v_part[g * LANES + k] = sh_f[k][0]; }
    v_cnt[g] = sh_u[0];
  }
}

fn ratio_or_nan(num: f32, den: u32) -> f32 {
  if (den == 0u) { return nan_f32(); }
  return num / f32(den);
}

// One workgroup: reduces the w_parts W records, then the v_parts vector records, and writes the metrics.
@compute @workgroup_size(WG)
fn combine(@builtin(local_invocation_index) lid: u32) {
  var acc = vec3<f32>(0.0);
  var total = 0.0;
  var diag = 0.0;
  var positive = 0u;
  for (var p = lid; p < mp.w_parts; p += WG) {
    let at = p * W_LANES;
    acc = chan(acc, vec3<f32>(w_part[at], w_part[at + 1u], w_part[at + 2u]));
    total += w_part[at + 3u];
    diag += w_part[at + 4u];
    positive += w_pos[p];
  }
  stage(lid, acc.x, acc.y, acc.z, total, diag, positive);
  tree(lid, true);
  let w_mean = sh_f[1][0];
  let w_m2 = sh_f[2][0];
  let w_total = sh_f[3][0];
  let w_diag = sh_f[4][0];
  let w_positive = sh_u[0];
  workgroupBarrier();

  var m_sum = 0.0;
  var m_max = -inf_f32();
  var s_sum = 0.0;
  var v_sum = 0.0;
  var v_xlogx = 0.0;
  var n_active = 0u;
  for (var p = lid; p < mp.v_parts; p += WG) {
    m_sum += v_part[p * LANES];
    m_max = max_keep_nan(m_max, v_part[p * LANES + 1u]);
    s_sum += v_part[p * LANES + 2u];
    v_sum += v_part[p * LANES + 3u];
    v_xlogx += v_part[p * LANES + 4u];
    n_active += v_cnt[p];
  }
  stage(lid, m_sum, m_max, s_sum, v_sum, v_xlogx, n_active);
  tree(lid, false);
  if (lid != 0u) { return; }

  let no_w = mp.w_count == 0u;
  metrics[0] = select(w_mean * mp.w_scale, nan_f32(), no_w);
  metrics[1] = sqrt(ratio_or_nan(w_m2, mp.w_count)) * mp.w_scale;
  metrics[2] = ratio_or_nan(f32(w_positive), mp.w_count);
  metrics[3] = ratio_or_nan(sh_f[0][0], mp.n);
  metrics[4] = select(sh_f[1][0], nan_f32(), mp.n == 0u);
  metrics[5] = ratio_or_nan(f32(sh_u[0]), mp.n);
  metrics[6] = ratio_or_nan(sh_f[2][0], mp.n);
  let visits_total = sh_f[3][0];
  var entropy = 0.0;
  if (visits_total > 0.0) { entropy = max(log(visits_total) - sh_f[4][0] / visits_total, 0.0); }
  metrics[7] = entropy;
  var diag_mass = 0.0;
  if (is_nan(w_total) || is_nan(w_diag)) { diag_mass = nan_f32(); } else if (w_total > 0.0) { diag_mass = w_diag / w_total; }
  metrics[8] = diag_mass;
  metrics[9] = select(nan_f32(), motion[0], mp.has_motion != 0u);
}
