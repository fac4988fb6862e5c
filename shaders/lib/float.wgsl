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
