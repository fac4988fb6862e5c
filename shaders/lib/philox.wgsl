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
