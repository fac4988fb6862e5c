// Elementwise maps: unary ops (in place or not), binary ops and where(), with NumPy broadcasting
// through per-operand strides (0 along broadcast dimensions), up to rank 8.
// #include "lib/grid.wgsl"
// #include "lib/float.wgsl"

override WG: u32 = 64;
override OP: u32 = 0;
override BROADCAST: bool = false;

struct UnaryParams {
  n: u32,
  a: f32,
  b: f32,
}

struct BroadcastParams {
  n: u32,
  rank: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> unary_params: UnaryParams;
@group(0) @binding(3) var<storage, read_write> xy: array<f32>;

@group(0) @binding(4) var<storage, read> lhs: array<f32>;
@group(0) @binding(5) var<storage, read> rhs: array<f32>;
@group(0) @binding(6) var<storage, read> cond: array<u32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<uniform> bp: BroadcastParams;

fn unary_op(v: f32, a: f32, b: f32) -> f32 {
  // Comparisons with NaN are unreliable on some drivers (Mesa's GL): keep NaN explicitly.
  if (is_nan(v)) { return v; }
  switch OP {
    case 0u: { return -v; }
    case 1u: { return abs(v); }
    case 2u: { return exp(v); }
    case 3u: { return log(v); }
    case 4u: { return sqrt(v); }
    case 5u: { return 1.0 / (1.0 + exp(-v)); }
    case 6u: { return select(v, 0.0, v < 0.0); }
    case 7u: {
      let e = exp(-2.0 * abs(v));
      let t = (1.0 - e) / (1.0 + e);
      return select(t, -t, v < 0.0);
    }
    case 8u: { return v * v; }
    case 9u: { return select(select(v, b, v > b), a, v < a); }
    case 10u: { return v * a + b; }
    default: { return v; }
  }
}

fn binary_op(p: f32, q: f32) -> f32 {
  switch OP {
    case 0u: { return p + q; }
    case 1u: { return p - q; }
    case 2u: { return p * q; }
    case 3u: { return p / q; }
    case 4u: {
      if (is_nan(p) || is_nan(q)) { return nan_f32(); }
      return select(q, p, p > q);
    }
    case 5u: {
      if (is_nan(p) || is_nan(q)) { return nan_f32(); }
      return select(q, p, p < q);
    }
    case 6u: { return pow(p, q); }
    default: { return p; }
  }
}

fn dim(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

@compute @workgroup_size(WG)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= unary_params.n) { return; }
  y[i] = unary_op(x[i], unary_params.a, unary_params.b);
}

@compute @workgroup_size(WG)
fn unary_inplace(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= unary_params.n) { return; }
  xy[i] = unary_op(xy[i], unary_params.a, unary_params.b);
}

@compute @workgroup_size(WG)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= bp.n) { return; }
  var ia = i;
  var ib = i;
  if (BROADCAST) {
    ia = 0u;
    ib = 0u;
    var rest = i;
    for (var d = i32(bp.rank) - 1; d >= 0; d--) {
      let extent = dim(bp.shape, u32(d));
      let c = rest % extent;
      rest = rest / extent;
      ia += c * dim(bp.a_strides, u32(d));
      ib += c * dim(bp.b_strides, u32(d));
    }
  }
  out[i] = binary_op(lhs[ia], rhs[ib]);
}

@compute @workgroup_size(WG)
fn where_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg, WG);
  if (i >= bp.n) { return; }
  var ia = i;
  var ib = i;
  var ic = i;
  if (BROADCAST) {
    ia = 0u;
    ib = 0u;
    ic = 0u;
    var rest = i;
    for (var d = i32(bp.rank) - 1; d >= 0; d--) {
      let extent = dim(bp.shape, u32(d));
      let c = rest % extent;
      rest = rest / extent;
      ia += c * dim(bp.a_strides, u32(d));
      ib += c * dim(bp.b_strides, u32(d));
      ic += c * dim(bp.c_strides, u32(d));
    }
  }
  out[i] = select(rhs[ib], lhs[ia], cond[ic] != 0u);
}
