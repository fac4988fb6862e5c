// IEEE tests on the bits, immune to compilers that assume finite math: on Mesa's GL driver a
// comparison with NaN can come out true, so kernels that must keep NaN test for it first.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Runtime values: a constant NaN or Inf bit pattern is rejected by WGSL's constant evaluation.
fn nan_f32() -> f32 {
  var bits = 0x7fc00000u;
  return bitcast<f32>(bits);
}

fn inf_f32() -> f32 {
  var bits = 0x7f800000u;
  return bitcast<f32>(bits);
}

fn is_finite_bits(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u;
}

// -0 becomes +0 (the compiler may fold 0 - v into -v).
fn without_negative_zero(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return bitcast<f32>(select(b, 0u, b == 0x80000000u));
}
