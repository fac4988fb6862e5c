// SparkNet's network update (SCIENCE.md §1, steps 1-2 fused):
//   s_next[i] = sigmoid(scale · sum_j W[i][j]·s[j] + noise_std · xi_i),   scale = wScale · state_decay,
// the decay of s folded into the scale (W·(d·s) = d·(W·s)); xi_i is the normal of Philox counter
// (i, 0, step, NOISE_STREAM), words 0 and 1 (Box-Muller, cos branch). Every row reads the old s.
// Dense: one workgroup per row; each lane sums a strided slice of the row (len/WG iterations, far under
// llvmpipe's 65535 loop iterations per invocation), then a fixed-order tree sum: bit-identical reruns.
// Sparse (CSR): one invocation per row, its edges in storage order (so a row of more than 65535 edges
// exceeds llvmpipe's loop budget); edges past nnz or with a column >= n are ignored.
// #include "lib/grid.wgsl"
// #include "lib/philox.wgsl"

override WG: u32 = 64;

const NOISE_STREAM: u32 = 1u;

struct NetworkParams {
  n: u32,
  nnz: u32,
  scale: f32,
  noise_std: f32,
  seed_lo: u32,
  seed_hi: u32,
  step: u32,
}

@group(0) @binding(0) var<uniform> np: NetworkParams;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> s: array<f32>;
@group(0) @binding(3) var<storage, read_write> s_next: array<f32>;
@group(0) @binding(4) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> col_idx: array<u32>;
@group(0) @binding(6) var<storage, read_write> xi_out: array<f32>;

// Dense rows: WG is a power of two.
var<workgroup> partial: array<f32, WG>;

fn noise_of(neuron: u32) -> f32 {
  let bits = philox4x32_10(vec4<u32>(neuron, 0u, np.step, NOISE_STREAM), vec2<u32>(np.seed_lo, np.seed_hi));
  return rng_normal_cos(bits.x, bits.y);
}

fn activation(neuron: u32, weighted: f32) -> f32 {
  var pre = np.scale * weighted;
  if (np.noise_std > 0.0) {
    pre = pre + np.noise_std * noise_of(neuron);
  }
  return 1.0 / (1.0 + exp(-pre));
}

@compute @workgroup_size(WG)
fn network_dense(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= np.n) { return; }
  let len = np.n;
  let base = row * len;
  var acc = 0.0;
  for (var j = lid; j < len; j += WG) {
    acc += w[base + j] * s[j];
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var span = WG / 2u; span > 0u; span = span / 2u) {
    if (lid < span) { partial[lid] = partial[lid] + partial[lid + span]; }
    workgroupBarrier();
  }
  if (lid == 0u) { s_next[row] = activation(row, partial[0]); }
}

@compute @workgroup_size(WG)
fn network_sparse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= np.n) { return; }
  let end = min(row_ptr[i + 1u], np.nnz);
  var acc = 0.0;
  for (var e = row_ptr[i]; e < end; e++) {
    let col = col_idx[e];
    if (col < np.n) { acc += w[e] * s[col]; }
  }
  s_next[i] = activation(i, acc);
}

// The noise xi_i the update draws, for tests and diagnostics.
@compute @workgroup_size(WG)
fn network_noise(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= np.n) { return; }
  xi_out[i] = noise_of(i);
}
