// SparkNet step 4 (SCIENCE.md §1, scratch/SPARKNET.md): sparks move, learn the crossed edge, deposit
// memory and energy, and respawn. Stored weights are true weights / w_scale.
//   Movement of spark k from prev: next = argmax_j (logit_j + gumbel_j), ties -> smallest candidate
//   position (dense: j; sparse: the edge in prev's sorted row), gumbel_j from Philox (j, k, step, MOVE);
//   logit_j = (relu(w_scale·W[prev][j]) + 1e-6)·(1/T) + mem_bias·M[j]. With probability explore (word 0 of
//   (k, 0, step, EXPLORE)) the spark jumps to floor(u·N) (word 1) instead.
//   Learning writes the transposed entry W[next][prev] (sparse: twin[e] for the edge e = (prev, next) of
//   prev's row; a jump to a non-neighbour crosses no edge). An edge crossed c times in one step:
//   W <- (1-lr)^c·W + (1-(1-lr)^c)·s[prev], (1-lr)^c by repeated squaring, gain exactly lr for c = 1.
//   Respawn (E < min_energy): q_j = exp(gain·(M_j - max M)) (exactly 1 where M_j = max M), target = the
//   smallest j whose running sum of q exceeds u·sum(q), u = word 0 of (k, 0, step, RESPAWN); all-zero M
//   gives q = 1 everywhere, the uniform floor(u·N).
// Sequential mode: ONE workgroup loops over the sparks in order; invocation 0 applies each spark's writes,
// barriers make them visible to the next spark. Parallel mode: parallel_move_* (choose, count crossings
// in a hash table of edge ids, arrivals), parallel_learn_* (each crossed edge once), parallel_arrive
// (deposits, s, visits, clears scratch), respawn_weights + cumsum (by the host), parallel_respawn.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"
// #include "lib/philox.wgsl"

// A power of two (reduce_best rakes WG / RAKE entries per lane).
override WG: u32 = 64;

const STREAM_EXPLORE: u32 = 2u;
const STREAM_MOVE: u32 = 3u;
const STREAM_RESPAWN: u32 = 4u;
const LOGIT_EPS: f32 = 1e-6;
const NONE: u32 = 0xffffffffu;
// Invocations that combine the per-invocation candidates (raking: few barriers, which software adapters pay dearly).
const RAKE: u32 = 16u;

struct SparkParams {
  n: u32,
  sparks: u32,
  step: u32,
  seed_lo: u32,
  seed_hi: u32,
  // Slots of the crossing table (a power of two >= 2·sparks); edge_table holds keys, then counts.
  table_size: u32,
  w_scale: f32,
  inv_w_scale: f32,
  lr: f32,
  inv_temp: f32,
  mem_bias: f32,
  explore: f32,
  mem_deposit: f32,
  energy_decay: f32,
  min_energy: f32,
  gain: f32,
}

struct WeightParams {
  n: u32,
  gain: f32,
}

@group(0) @binding(0) var<uniform> spark_params: SparkParams;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> act: array<f32>;
@group(0) @binding(3) var<storage, read_write> mem: array<f32>;
@group(0) @binding(4) var<storage, read_write> spark_pos: array<u32>;
@group(0) @binding(5) var<storage, read_write> spark_energy: array<f32>;
@group(0) @binding(6) var<storage, read_write> spark_age: array<u32>;
@group(0) @binding(7) var<storage, read_write> visits: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> respawns: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(10) var<storage, read> col_idx: array<u32>;
@group(0) @binding(11) var<storage, read> twin: array<u32>;
@group(0) @binding(12) var<storage, read_write> arrivals: array<atomic<u32>>;
@group(0) @binding(13) var<storage, read_write> arrival_energy: array<atomic<u32>>;
@group(0) @binding(14) var<storage, read_write> edge_table: array<atomic<u32>>;
@group(0) @binding(15) var<storage, read> respawn_cdf: array<f32>;
@group(0) @binding(16) var<uniform> weight_params: WeightParams;
@group(0) @binding(17) var<storage, read> mem_max: array<f32>;
@group(0) @binding(18) var<storage, read_write> respawn_q: array<f32>;

var<workgroup> red_score: array<f32, WG>;
var<workgroup> red_index: array<u32, WG>;
var<workgroup> rake_score: array<f32, RAKE>;
var<workgroup> rake_index: array<u32, RAKE>;
var<workgroup> wg_flag: u32;
var<workgroup> wg_value: f32;

struct Best {
  score: f32,
  index: u32,
}

fn draw(index: u32, lane_block: u32, stream: u32) -> vec4<u32> {
  let key = vec2<u32>(spark_params.seed_lo, spark_params.seed_hi);
  return philox4x32_10(vec4<u32>(index, lane_block, spark_params.step, stream), key);
}

fn uniform_target(u: f32) -> u32 {
  return min(u32(u * f32(spark_params.n)), spark_params.n - 1u);
}

// The uniform jump target of spark k, or NONE when it does not explore this step.
fn explore_target(k: u32) -> u32 {
  let bits = draw(k, 0u, STREAM_EXPLORE);
  if (rng_uniform01(bits.x) < spark_params.explore) { return uniform_target(rng_uniform01(bits.y)); }
  return NONE;
}

// logit + Gumbel noise of candidate neuron j of spark k, NaN as -inf (NaN compares unreliably on Mesa).
fn candidate_score(k: u32, j: u32, stored: f32) -> f32 {
  let h = spark_params.w_scale * stored;
  let logit = (select(h, 0.0, h < 0.0) + LOGIT_EPS) * spark_params.inv_temp + spark_params.mem_bias * mem[j];
  let score = logit + rng_gumbel(draw(j, k, STREAM_MOVE).x);
  if (is_nan(score)) { return -inf_f32(); }
  return score;
}

fn better(score: f32, index: u32, than: Best) -> bool {
  return score > than.score || (score == than.score && index < than.index);
}

fn consider(b: Best, score: f32, index: u32) -> Best {
  if (better(score, index, b)) { return Best(score, index); }
  return b;
}

fn no_candidate() -> Best {
  return Best(-inf_f32(), NONE);
}

// Dense: this invocation's best candidate among j = lid, lid + stride, ... (index j).
fn best_dense(k: u32, prev: u32, lid: u32, stride: u32) -> Best {
  var b = no_candidate();
  let row = prev * spark_params.n;
  for (var j = lid; j < spark_params.n; j += stride) {
    b = consider(b, candidate_score(k, j, weights[row + j]), j);
  }
  return b;
}

// Sparse: this invocation's best edge of prev's row among its entries lid, lid + stride, ... (index e).
fn best_sparse(k: u32, prev: u32, lid: u32, stride: u32) -> Best {
  var b = no_candidate();
  let end = row_ptr[prev + 1u];
  for (var e = row_ptr[prev] + lid; e < end; e += stride) {
    b = consider(b, candidate_score(k, col_idx[e], weights[e]), e);
  }
  return b;
}

// The edge (row, col) of the sorted CSR row, or NONE.
fn find_edge(row: u32, col: u32) -> u32 {
  var lo = row_ptr[row];
  var hi = row_ptr[row + 1u];
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    if (col_idx[mid] < col) { lo = mid + 1u; } else { hi = mid; }
  }
  if (lo < row_ptr[row + 1u] && col_idx[lo] == col) { return lo; }
  return NONE;
}

// The weight entry that crossing edge e (prev -> next) of prev's row writes: its twin (next, prev).
fn transposed(e: u32) -> u32 {
  if (e == NONE) { return NONE; }
  return twin[e];
}

// The workgroup's best of the invocations' candidates, valid in invocation 0. Uniform control flow.
fn reduce_best(lid: u32, mine: Best) -> Best {
  red_score[lid] = mine.score;
  red_index[lid] = mine.index;
  workgroupBarrier();
  let rake = min(RAKE, WG);
  let run = WG / rake;
  if (lid < rake) {
    var b = Best(red_score[lid * run], red_index[lid * run]);
    for (var i = 1u; i < run; i++) {
      b = consider(b, red_score[lid * run + i], red_index[lid * run + i]);
    }
    rake_score[lid] = b.score;
    rake_index[lid] = b.index;
  }
  workgroupBarrier();
  var b = Best(rake_score[0], rake_index[0]);
  if (lid == 0u) {
    for (var i = 1u; i < rake; i++) { b = consider(b, rake_score[i], rake_index[i]); }
  }
  return b;
}

// EMA of the stored weight at `idx` toward s[prev], as if crossed `crossings` times in a row.
fn learn_edge(idx: u32, prev: u32, crossings: u32) {
  let keep = 1.0 - spark_params.lr;
  var decay = 1.0;
  var base = keep;
  var e = crossings;
  while (e > 0u) {
    if ((e & 1u) != 0u) { decay = decay * base; }
    base = base * base;
    e = e >> 1u;
  }
  let gain = select(1.0 - decay, spark_params.lr, crossings == 1u);
  let updated = decay * (spark_params.w_scale * weights[idx]) + gain * act[prev];
  weights[idx] = updated * spark_params.inv_w_scale;
}

// Moves spark k to `next` and decays its energy; returns the new energy.
fn advance_spark(k: u32, next: u32) -> f32 {
  spark_pos[k] = next;
  let energy = spark_params.energy_decay * spark_energy[k];
  spark_energy[k] = energy;
  spark_age[k] = spark_age[k] + 1u;
  return energy;
}

fn respawn_spark(k: u32, dest: u32) {
  spark_pos[k] = dest;
  spark_energy[k] = 1.0;
  spark_age[k] = 0u;
  atomicAdd(&respawns[0], 1u);
}

// ---- sequential ---------------------------------------------------------------------------

// Invocation 0: the writes of spark k's move; returns whether it must respawn.
fn sequential_arrive(k: u32, prev: u32, next: u32, edge_idx: u32) -> bool {
  if (edge_idx != NONE) { learn_edge(edge_idx, prev, 1u); }
  mem[next] = mem[next] + spark_params.mem_deposit;
  let energy = advance_spark(k, next);
  act[next] = energy;
  atomicAdd(&visits[next], 1u);
  return energy < spark_params.min_energy;
}

// exp(x), exactly 1 at x = 0 (the largest M, or gain 0): all-zero M gives the uniform distribution.
fn respawn_exp(x: f32) -> f32 {
  return select(exp(x), 1.0, x == 0.0);
}

fn respawn_weight(j: u32, top: f32) -> f32 {
  return respawn_exp(spark_params.gain * (mem[j] - top));
}

// The first neuron of chunk c whose running sum (from `before`) exceeds threshold; the chunk's last neuron
// of positive weight when none does (rounding), NONE when it has none.
fn pick_in_chunk(c: u32, chunk: u32, top: f32, before: f32, threshold: f32) -> u32 {
  var run = before;
  var last = NONE;
  let end = min((c + 1u) * chunk, spark_params.n);
  for (var j = c * chunk; j < end; j++) {
    let q = respawn_weight(j, top);
    if (q > 0.0) { last = j; }
    run = run + q;
    if (run > threshold) { return j; }
  }
  return last;
}

// Respawns spark k by the inverse CDF of q over the current M: invocation lid owns the chunk
// [lid·chunk, (lid + 1)·chunk); chunk sums in index order, then invocation 0 walks them in order.
// Uniform control flow.
fn sequential_respawn(k: u32, lid: u32) {
  let chunk = (spark_params.n + WG - 1u) / WG;
  let start = min(lid * chunk, spark_params.n);
  let end = min(start + chunk, spark_params.n);
  var top = -inf_f32();
  for (var j = start; j < end; j++) { top = max(top, mem[j]); }
  red_score[lid] = top;
  workgroupBarrier();
  if (lid == 0u) {
    var m_top = red_score[0];
    for (var i = 1u; i < WG; i++) { m_top = max(m_top, red_score[i]); }
    wg_value = m_top;
  }
  let m_top = workgroupUniformLoad(&wg_value);
  var part = 0.0;
  for (var j = start; j < end; j++) { part = part + respawn_weight(j, m_top); }
  red_score[lid] = part;
  workgroupBarrier();
  if (lid == 0u) {
    var total = 0.0;
    for (var i = 0u; i < WG; i++) { total = total + red_score[i]; }
    let u = rng_uniform01(draw(k, 0u, STREAM_RESPAWN).x);
    let threshold = u * total;
    var before = 0.0;
    var picked = NONE;
    var last_positive = NONE;
    for (var i = 0u; i < WG; i++) {
      let after = before + red_score[i];
      if (after > threshold) {
        picked = pick_in_chunk(i, chunk, m_top, before, threshold);
        break;
      }
      if (red_score[i] > 0.0) { last_positive = i; }
      before = after;
    }
    if (picked == NONE && last_positive != NONE) {
      picked = pick_in_chunk(last_positive, chunk, m_top, 0.0, inf_f32());
    }
    if (picked == NONE) { picked = uniform_target(u); }
    respawn_spark(k, picked);
  }
}

// Broadcasts invocation 0's respawn decision after its storage writes; then respawns if needed.
fn sequential_finish(k: u32, lid: u32, respawn: bool) {
  if (lid == 0u) { wg_flag = u32(respawn); }
  storageBarrier();
  if (workgroupUniformLoad(&wg_flag) != 0u) { sequential_respawn(k, lid); }
  storageBarrier();
}

@compute @workgroup_size(WG)
fn sequential_dense(@builtin(local_invocation_index) lid: u32) {
  for (var k = 0u; k < spark_params.sparks; k++) {
    let prev = spark_pos[k];
    let jump = explore_target(k);
    var mine = no_candidate();
    if (jump == NONE) { mine = best_dense(k, prev, lid, WG); }
    let best = reduce_best(lid, mine);
    var respawn = false;
    if (lid == 0u) {
      let next = select(best.index, jump, jump != NONE);
      respawn = sequential_arrive(k, prev, next, next * spark_params.n + prev);
    }
    sequential_finish(k, lid, respawn);
  }
}

@compute @workgroup_size(WG)
fn sequential_sparse(@builtin(local_invocation_index) lid: u32) {
  for (var k = 0u; k < spark_params.sparks; k++) {
    let prev = spark_pos[k];
    let jump = explore_target(k);
    var mine = no_candidate();
    if (jump == NONE) { mine = best_sparse(k, prev, lid, WG); }
    let best = reduce_best(lid, mine);
    var respawn = false;
    if (lid == 0u) {
      var next = prev;
      var edge = NONE;
      if (jump != NONE) {
        next = jump;
        edge = find_edge(prev, jump);
      } else if (best.index != NONE) {
        edge = best.index;
        next = col_idx[edge];
      }
      respawn = sequential_arrive(k, prev, next, transposed(edge));
    }
    sequential_finish(k, lid, respawn);
  }
}

// ---- parallel -----------------------------------------------------------------------------

fn slot_of(key: u32) -> u32 {
  var h = key * 0x9E3779B1u;
  h = h ^ (h >> 16u);
  return h & (spark_params.table_size - 1u);
}

// Counts one crossing of the weight entry `idx` (key idx + 1; 0 marks an empty slot) by linear probing.
fn count_crossing(idx: u32) {
  let key = idx + 1u;
  var slot = slot_of(key);
  for (var tries = 0u; tries < 4u * spark_params.table_size; tries++) {
    let r = atomicCompareExchangeWeak(&edge_table[slot], 0u, key);
    if (r.exchanged || r.old_value == key) {
      atomicAdd(&edge_table[spark_params.table_size + slot], 1u);
      return;
    }
    // A weak exchange may fail spuriously on an empty slot: try the same slot again.
    if (r.old_value != 0u) { slot = (slot + 1u) & (spark_params.table_size - 1u); }
  }
}

// The order-free part of a parallel move: state of spark k, arrivals at next, the crossing count.
fn parallel_cross(k: u32, next: u32, edge_idx: u32) {
  let energy = advance_spark(k, next);
  atomicAdd(&arrivals[next], 1u);
  atomicMax(&arrival_energy[next], bitcast<u32>(energy));
  if (edge_idx != NONE) { count_crossing(edge_idx); }
}

fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// One workgroup per spark.
@compute @workgroup_size(WG)
fn parallel_move_dense(
  @builtin(local_invocation_index) lid: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let k = group_index(wid, nwg);
  if (k >= spark_params.sparks) { return; }
  let prev = spark_pos[k];
  let jump = explore_target(k);
  var mine = no_candidate();
  if (jump == NONE) { mine = best_dense(k, prev, lid, WG); }
  let best = reduce_best(lid, mine);
  if (lid == 0u) {
    let next = select(best.index, jump, jump != NONE);
    parallel_cross(k, next, next * spark_params.n + prev);
  }
}

// One invocation per spark (rows are short).
@compute @workgroup_size(WG)
fn parallel_move_sparse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = linear_index(gid, nwg, WG);
  if (k >= spark_params.sparks) { return; }
  let prev = spark_pos[k];
  let jump = explore_target(k);
  var next = prev;
  var edge = NONE;
  if (jump != NONE) {
    next = jump;
    edge = find_edge(prev, jump);
  } else {
    let best = best_sparse(k, prev, 0u, 1u);
    if (best.index != NONE) {
      edge = best.index;
      next = col_idx[edge];
    }
  }
  parallel_cross(k, next, transposed(edge));
}

// Slot t of the crossing table: learn its edge once with its count, then empty the slot.
fn learn_slot(t: u32) -> vec2<u32> {
  let key = atomicLoad(&edge_table[t]);
  if (key == 0u) { return vec2<u32>(NONE, 0u); }
  let count = atomicLoad(&edge_table[spark_params.table_size + t]);
  atomicStore(&edge_table[t], 0u);
  atomicStore(&edge_table[spark_params.table_size + t], 0u);
  return vec2<u32>(key - 1u, count);
}

@compute @workgroup_size(WG)
fn parallel_learn_dense(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= spark_params.table_size) { return; }
  let crossed = learn_slot(t);
  if (crossed.x == NONE) { return; }
  learn_edge(crossed.x, crossed.x % spark_params.n, crossed.y);
}

@compute @workgroup_size(WG)
fn parallel_learn_sparse(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg, WG);
  if (t >= spark_params.table_size) { return; }
  let crossed = learn_slot(t);
  if (crossed.x == NONE) { return; }
  learn_edge(crossed.x, col_idx[crossed.x], crossed.y);
}

@compute @workgroup_size(WG)
fn parallel_arrive(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= spark_params.n) { return; }
  let count = atomicLoad(&arrivals[i]);
  if (count == 0u) { return; }
  mem[i] = mem[i] + f32(count) * spark_params.mem_deposit;
  act[i] = bitcast<f32>(atomicLoad(&arrival_energy[i]));
  atomicAdd(&visits[i], count);
  atomicStore(&arrivals[i], 0u);
  atomicStore(&arrival_energy[i], 0u);
}

// q_i = exp(gain·(M_i - max M)), as the sequential respawn weighs neurons.
@compute @workgroup_size(WG)
fn respawn_weights(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= weight_params.n) { return; }
  respawn_q[i] = respawn_exp(weight_params.gain * (mem[i] - mem_max[0]));
}

// The first index whose cdf exceeds `threshold` (n when none).
fn cdf_search(threshold: f32, strict: bool) -> u32 {
  var lo = 0u;
  var hi = spark_params.n;
  while (lo < hi) {
    let mid = (lo + hi) / 2u;
    let c = respawn_cdf[mid];
    if (c > threshold || (!strict && c == threshold)) { hi = mid; } else { lo = mid + 1u; }
  }
  return lo;
}

@compute @workgroup_size(WG)
fn parallel_respawn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = linear_index(gid, nwg, WG);
  if (k >= spark_params.sparks) { return; }
  if (!(spark_energy[k] < spark_params.min_energy)) { return; }
  let u = rng_uniform01(draw(k, 0u, STREAM_RESPAWN).x);
  let total = respawn_cdf[spark_params.n - 1u];
  var dest = cdf_search(u * total, true);
  if (dest >= spark_params.n) { dest = cdf_search(total, false); }
  respawn_spark(k, min(dest, spark_params.n - 1u));
}
