// Fills a tensor with counter-based random numbers: invocation g writes elements 4g..4g+3 from
// philox4x32_10((g, 0, step, stream), seed), so the values do not depend on the workgroup size.
// #include "lib/grid.wgsl"
// #include "lib/philox.wgsl"

override WG: u32 = 64;

struct RandomParams {
  n: u32,
  seed_lo: u32,
  seed_hi: u32,
  stream: u32,
  step: u32,
  a: f32,
  b: f32,
}

@group(0) @binding(0) var<uniform> rp: RandomParams;
@group(0) @binding(1) var<storage, read_write> bits_out: array<u32>;
@group(0) @binding(2) var<storage, read_write> values_out: array<f32>;

fn block_bits(g: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(g, 0u, rp.step, rp.stream), vec2<u32>(rp.seed_lo, rp.seed_hi));
}

@compute @workgroup_size(WG)
fn random_bits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_index(gid, nwg, WG);
  if (g * 4u >= rp.n) { return; }
  let w = block_bits(g);
  for (var lane = 0u; lane < 4u; lane++) {
    if (g * 4u + lane < rp.n) { bits_out[g * 4u + lane] = w[lane]; }
  }
}

// Uniform in [a, b).
@compute @workgroup_size(WG)
fn random_uniform(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_index(gid, nwg, WG);
  if (g * 4u >= rp.n) { return; }
  let w = block_bits(g);
  for (var lane = 0u; lane < 4u; lane++) {
    if (g * 4u + lane < rp.n) { values_out[g * 4u + lane] = rp.a + (rp.b - rp.a) * rng_uniform01(w[lane]); }
  }
}

// Normal with mean a and standard deviation b.
@compute @workgroup_size(WG)
fn random_normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = linear_index(gid, nwg, WG);
  if (g * 4u >= rp.n) { return; }
  let z = rng_normal4(block_bits(g));
  for (var lane = 0u; lane < 4u; lane++) {
    if (g * 4u + lane < rp.n) { values_out[g * 4u + lane] = rp.a + rp.b * z[lane]; }
  }
}
