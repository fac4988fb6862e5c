// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), bit-identical
// to src/engine/rng.ts. A draw is a pure function of (key, counter): no state to carry between kernels.
// Engine convention: key = the seed's low and high words, counter = (index, block, step, stream).

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High and low words of the 64-bit product of two u32 (WGSL has no mulhi).
fn philox_mulhilo(a: u32, b: u32) -> vec2<u32> {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let p0 = a_lo * b_lo;
  let p1 = a_lo * b_hi;
  let p2 = a_hi * b_lo;
  let p3 = a_hi * b_hi;
  let mid = (p0 >> 16u) + (p1 & 0xffffu) + (p2 & 0xffffu);
  return vec2<u32>(p3 + (p1 >> 16u) + (p2 >> 16u) + (mid >> 16u), a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
  let r0 = philox_mulhilo(PHILOX_M0, c.x);
  let r1 = philox_mulhilo(PHILOX_M1, c.z);
  return vec4<u32>(r1.x ^ c.y ^ k.x, r1.y, r0.x ^ c.w ^ k.y, r0.y);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  c = philox_round(c, k);
  for (var r = 1u; r < 10u; r++) {
    k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
    c = philox_round(c, k);
  }
  return c;
}

// Uniform in [0, 1): the top 24 bits, exact in f32.
fn rng_uniform01(bits: u32) -> f32 {
  return f32(bits >> 8u) * 5.9604644775390625e-8;
}

// Uniform in (0, 1], for logarithms.
fn rng_uniform01_open0(bits: u32) -> f32 {
  return f32((bits >> 8u) + 1u) * 5.9604644775390625e-8;
}

// Four standard normals from four words by the Box-Muller transform.
fn rng_normal4(bits: vec4<u32>) -> vec4<f32> {
  let r0 = sqrt(-2.0 * log(rng_uniform01_open0(bits.x)));
  let t0 = 6.283185307179586 * rng_uniform01(bits.y);
  let r1 = sqrt(-2.0 * log(rng_uniform01_open0(bits.z)));
  let t1 = 6.283185307179586 * rng_uniform01(bits.w);
  return vec4<f32>(r0 * cos(t0), r0 * sin(t0), r1 * cos(t1), r1 * sin(t1));
}

// One standard normal from two words (Box-Muller, cos branch): lane 0 of rng_normal4.
fn rng_normal_cos(bits0: u32, bits1: u32) -> f32 {
  let r = sqrt(-2.0 * log(rng_uniform01_open0(bits0)));
  return r * cos(6.283185307179586 * rng_uniform01(bits1));
}

// Uniform in the open interval (0, 1): ((bits >> 9) + 0.5) * 2^-23, exact in f32, in [2^-24, 1 - 2^-24].
fn rng_uniform01_open(bits: u32) -> f32 {
  return f32((bits >> 8u) | 1u) * 5.9604644775390625e-8;
}

// Exponential(1) = -log(u), u in (0, 1), with relative accuracy near 0 as well: for u >= 0.5 (where
// log has only an absolute error bound in WGSL) -log(u) = 2·atanh(z), z = (1 - u) / (1 + u) <= 1/3,
// by its odd series to z^15 (truncation below 2e-9 relative). Always > 0 and finite.
fn rng_exponential(bits: u32) -> f32 {
  let u = rng_uniform01_open(bits);
  if (u < 0.5) { return -log(u); }
  let v = 1.0 - u;
  let z = v / (2.0 - v);
  let z2 = z * z;
  var p = 0.06666666666666667;
  p = p * z2 + 0.07692307692307693;
  p = p * z2 + 0.09090909090909091;
  p = p * z2 + 0.1111111111111111;
  p = p * z2 + 0.14285714285714285;
  p = p * z2 + 0.2;
  p = p * z2 + 0.3333333333333333;
  p = p * z2 + 1.0;
  return 2.0 * z * p;
}

// Standard Gumbel: -log(Exponential(1)); argmax_j (logit_j + gumbel_j) ~ Categorical(softmax(logit)).
fn rng_gumbel(bits: u32) -> f32 {
  return -log(rng_exponential(bits));
}
