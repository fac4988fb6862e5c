// The linear invocation index of a 1-D launch folded into x and y by grid1d() (src/engine/kernel.ts).
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>, wg: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}
