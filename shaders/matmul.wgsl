// Batched matrix product C[b] = op(A[b]) · op(B[b]), op = identity or transpose, f32.
//
// Tiled in workgroup memory and register-blocked. A TILE_X x TILE_Y workgroup computes a tile of
// (4·ROW_QUADS·TILE_Y) x (4·COL_QUADS·TILE_X) elements of C; each invocation a block of
// 4·ROW_QUADS rows x 4·COL_QUADS columns held in vec4 accumulators. Each step stages a TILE_K-deep
// slice of A and B in workgroup memory, k-major in quads (a vec4 = 4 rows of A, or 4 columns of B,
// at one k), so an invocation reads its operands for one k with ROW_QUADS + COL_QUADS vec4 loads
// and does 16·ROW_QUADS·COL_QUADS multiply-adds with them. Transposes are resolved while staging;
// elements outside the matrices stage as 0 and are never written back. Every element of C is summed
// over k = 0, 1, ..., K-1 in order. Workgroups loop over tiles and batches, so a grid capped at
// 65535 per dimension still covers every output.
//
// Block sizes: 1 x 1 quads (4x4 per invocation) suit GPUs. On software rasterizers (llvmpipe) every
// workgroup-memory access costs a loop over SIMD lanes, so 4 x 4 quads (16x16), with fewer
// accesses per multiply-add, run about 3.5x faster there.

override TILE_X: u32 = 16;
override TILE_Y: u32 = 16;
override TILE_K: u32 = 16;
override ROW_QUADS: u32 = 1;
override COL_QUADS: u32 = 1;
override TRANSPOSE_A: bool = false;
override TRANSPOSE_B: bool = false;

// The largest register block, in quads, that ROW_QUADS and COL_QUADS may select.
const MAX_QUADS = 4u;

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  a_batch_stride: u32,
  b_batch_stride: u32,
}

@group(0) @binding(0) var<storage, read> mat_a: array<f32>;
@group(0) @binding(1) var<storage, read> mat_b: array<f32>;
@group(0) @binding(2) var<storage, read_write> mat_c: array<f32>;
@group(0) @binding(3) var<uniform> mm: MatmulParams;

// a_tile[kk * TILE_Y * ROW_QUADS + q]: rows 4q..4q+3 of the tile at depth kk; b_tile likewise for columns.
var<workgroup> a_tile: array<vec4<f32>, TILE_K * TILE_Y * ROW_QUADS>;
var<workgroup> b_tile: array<vec4<f32>, TILE_K * TILE_X * COL_QUADS>;

// A's element (row, depth) in the batch at `base`, or 0 outside [0, M) x [0, K).
fn load_a(base: u32, row: u32, depth: u32) -> f32 {
  if (row >= mm.m || depth >= mm.k) { return 0.0; }
  if (TRANSPOSE_A) { return mat_a[base + depth * mm.m + row]; }
  return mat_a[base + row * mm.k + depth];
}

// B's element (depth, col) in the batch at `base`, or 0 outside [0, K) x [0, N).
fn load_b(base: u32, depth: u32, col: u32) -> f32 {
  if (depth >= mm.k || col >= mm.n) { return 0.0; }
  if (TRANSPOSE_B) { return mat_b[base + col * mm.k + depth]; }
  return mat_b[base + depth * mm.n + col];
}

// Consecutive invocations read consecutive addresses: along k for A, along M for A^T.
fn stage_a(base: u32, row0: u32, k0: u32, lindex: u32) {
  let quads = TILE_Y * ROW_QUADS;
  for (var e = lindex; e < TILE_K * quads; e += TILE_X * TILE_Y) {
    var q: u32;
    var kk: u32;
    if (TRANSPOSE_A) { q = e % quads; kk = e / quads; } else { kk = e % TILE_K; q = e / TILE_K; }
    let row = row0 + 4u * q;
    let depth = k0 + kk;
    a_tile[kk * quads + q] = vec4<f32>(
      load_a(base, row, depth), load_a(base, row + 1u, depth),
      load_a(base, row + 2u, depth), load_a(base, row + 3u, depth));
  }
}

// Consecutive invocations read consecutive addresses: along N for B, along k for B^T.
fn stage_b(base: u32, col0: u32, k0: u32, lindex: u32) {
  let quads = TILE_X * COL_QUADS;
  for (var e = lindex; e < TILE_K * quads; e += TILE_X * TILE_Y) {
    var q: u32;
    var kk: u32;
    if (TRANSPOSE_B) { kk = e % TILE_K; q = e / TILE_K; } else { q = e % quads; kk = e / quads; }
    let col = col0 + 4u * q;
    let depth = k0 + kk;
    b_tile[kk * quads + q] = vec4<f32>(
      load_b(base, depth, col), load_b(base, depth, col + 1u),
      load_b(base, depth, col + 2u), load_b(base, depth, col + 3u));
  }
}

// Writes 4 consecutive elements of row `row` from column `col`, those inside C.
fn store_quad(base: u32, row: u32, col: u32, v: vec4<f32>) {
  if (row >= mm.m) { return; }
  let i = base + row * mm.n + col;
  if (col < mm.n) { mat_c[i] = v.x; }
  if (col + 1u < mm.n) { mat_c[i + 1u] = v.y; }
  if (col + 2u < mm.n) { mat_c[i + 2u] = v.z; }
  if (col + 3u < mm.n) { mat_c[i + 3u] = v.w; }
}

@compute @workgroup_size(TILE_X, TILE_Y)
fn matmul(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) lindex: u32,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let quads_m = TILE_Y * ROW_QUADS;
  let quads_n = TILE_X * COL_QUADS;
  let tiles_m = (mm.m + 4u * quads_m - 1u) / (4u * quads_m);
  let tiles_n = (mm.n + 4u * quads_n - 1u) / (4u * quads_n);
  let steps = (mm.k + TILE_K - 1u) / TILE_K;
  let my_a = lid.y * ROW_QUADS;
  let my_b = lid.x * COL_QUADS;
  for (var bi = wid.z; bi < mm.batch; bi += nwg.z) {
    let a_base = bi * mm.a_batch_stride;
    let b_base = bi * mm.b_batch_stride;
    let c_base = bi * mm.m * mm.n;
    for (var ti = wid.y; ti < tiles_m; ti += nwg.y) {
      for (var tj = wid.x; tj < tiles_n; tj += nwg.x) {
        let row0 = ti * 4u * quads_m;
        let col0 = tj * 4u * quads_n;
        var acc: array<array<vec4<f32>, MAX_QUADS>, 4u * MAX_QUADS>;
        for (var s = 0u; s < steps; s++) {
          stage_a(a_base, row0, s * TILE_K, lindex);
          stage_b(b_base, col0, s * TILE_K, lindex);
          workgroupBarrier();
          for (var kk = 0u; kk < TILE_K; kk++) {
            var av: array<vec4<f32>, MAX_QUADS>;
            var bv: array<vec4<f32>, MAX_QUADS>;
            for (var i = 0u; i < ROW_QUADS; i++) { av[i] = a_tile[kk * quads_m + my_a + i]; }
            for (var j = 0u; j < COL_QUADS; j++) { bv[j] = b_tile[kk * quads_n + my_b + j]; }
            for (var i = 0u; i < ROW_QUADS; i++) {
              for (var j = 0u; j < COL_QUADS; j++) {
                acc[4u * i][j] += av[i].x * bv[j];
                acc[4u * i + 1u][j] += av[i].y * bv[j];
                acc[4u * i + 2u][j] += av[i].z * bv[j];
                acc[4u * i + 3u][j] += av[i].w * bv[j];
              }
            }
          }
          workgroupBarrier();
        }
        for (var r = 0u; r < 4u * ROW_QUADS; r++) {
          for (var j = 0u; j < COL_QUADS; j++) {
            store_quad(c_base, row0 + 4u * my_a + r, col0 + 4u * (my_b + j), acc[r][j]);
          }
        }
      }
    }
  }
}
