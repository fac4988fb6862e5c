// SparkNet's memory field M (SCIENCE.md §1): deposits of arriving sparks, M_i += count_i · deposit (in
// place), and diffusion M_next = M + D·(L·M), every output reading the old M:
// - grid (rows x cols, 4 neighbours, reflecting edges): (L·M)_i = sum over i's existing neighbours of
//   (M_j - M_i), added in the order up, down, left, right;
// - weight graph, dense or CSR: (L·M)_i = sum_j P_ij·M_j - M_i, P_ij = W+_ij / sum_j W+_ij, W+ = max(W, 0),
//   computed as M_i + D·(sum_j W+_ij·M_j / sum_j W+_ij - M_i); a row whose positive sum is 0 keeps M_i.
// Dense rows: one workgroup per row, strided lanes (len/WG iterations each, far under llvmpipe's 65535 loop
// iterations per invocation) and a fixed-order tree sum. CSR: one invocation per row, edges in order
// (rows of at most 65535 edges on llvmpipe); edges past nnz or with a column >= n are ignored.
// Weights are assumed finite (W+ tests w > 0, which Mesa's GL driver may get wrong for NaN).
// #include "lib/grid.wgsl"

override WG: u32 = 64;

struct DepositParams {
  n: u32,
  deposit: f32,
}

struct GridParams {
  rows: u32,
  cols: u32,
  d: f32,
}

struct GraphParams {
  n: u32,
  nnz: u32,
  d: f32,
}

@group(0) @binding(0) var<storage, read_write> m_inout: array<f32>;
@group(0) @binding(1) var<storage, read> arrivals: array<u32>;
@group(0) @binding(2) var<uniform> deposit_params: DepositParams;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> m_next: array<f32>;
@group(0) @binding(5) var<uniform> grid_params: GridParams;
@group(0) @binding(6) var<storage, read> w: array<f32>;
@group(0) @binding(7) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(8) var<storage, read> col_idx: array<u32>;
@group(0) @binding(9) var<uniform> graph_params: GraphParams;

// Dense rows: (sum of W+, sum of W+·M) per lane; WG is a power of two.
var<workgroup> partial: array<vec2<f32>, WG>;

@compute @workgroup_size(WG)
fn memory_deposit(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= deposit_params.n) { return; }
  let count = arrivals[i];
  if (count > 0u) {
    let added = f32(count) * deposit_params.deposit;
    m_inout[i] = m_inout[i] + added;
  }
}

@compute @workgroup_size(WG)
fn diffuse_grid(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  let rows = grid_params.rows;
  let cols = grid_params.cols;
  if (i >= rows * cols) { return; }
  let r = i / cols;
  let c = i % cols;
  let here = m[i];
  var flow = 0.0;
  if (r > 0u) { flow += m[i - cols] - here; }
  if (r + 1u < rows) { flow += m[i + cols] - here; }
  if (c > 0u) { flow += m[i - 1u] - here; }
  if (c + 1u < cols) { flow += m[i + 1u] - here; }
  m_next[i] = here + grid_params.d * flow;
}

fn positive(v: f32) -> f32 {
  return select(0.0, v, v > 0.0);
}

// M_i moved toward the W+-weighted mean of the M_j; a row without positive weight keeps M_i.
fn graph_mixed(here: f32, total: f32, weighted: f32) -> f32 {
  if (total > 0.0) { return here + graph_params.d * (weighted / total - here); }
  return here;
}

@compute @workgroup_size(WG)
fn diffuse_graph_dense(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= graph_params.n) { return; }
  let len = graph_params.n;
  let base = row * len;
  var acc = vec2<f32>(0.0, 0.0);
  for (var j = lid; j < len; j += WG) {
    let wp = positive(w[base + j]);
    acc += vec2<f32>(wp, wp * m[j]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span = span / 2u) {
    if (lid < span) { partial[lid] = partial[lid] + partial[lid + span]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let sums = partial[0];
    m_next[row] = graph_mixed(m[row], sums.x, sums.y);
  }
}

@compute @workgroup_size(WG)
fn diffuse_graph_sparse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  let n = graph_params.n;
  if (i >= n) { return; }
  let end = min(row_ptr[i + 1u], graph_params.nnz);
  var total = 0.0;
  var weighted = 0.0;
  for (var e = row_ptr[i]; e < end; e++) {
    let col = col_idx[e];
    if (col < n) {
      let wp = positive(w[e]);
      total += wp;
      weighted += wp * m[col];
    }
  }
  m_next[i] = graph_mixed(m[i], total, weighted);
}
