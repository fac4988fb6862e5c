// SparkNet step 3: every spark younger than force_steps pins its neuron's activation to 1.
// Several sparks on one neuron all write 1: the result does not depend on their order.
// #include "lib/grid.wgsl"

override WG: u32 = 64;

struct PinParams {
  sparks: u32,
  force_steps: u32,
}

@group(0) @binding(0) var<uniform> pin_params: PinParams;
@group(0) @binding(1) var<storage, read> spark_pos: array<u32>;
@group(0) @binding(2) var<storage, read> spark_age: array<u32>;
@group(0) @binding(3) var<storage, read_write> activation: array<f32>;

@compute @workgroup_size(WG)
fn pin_young_sparks(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = linear_index(gid, nwg, WG);
  if (k >= pin_params.sparks) { return; }
  if (spark_age[k] < pin_params.force_steps) {
    activation[spark_pos[k]] = 1.0;
  }
}
