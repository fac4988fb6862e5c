/** WGSL text composed at build time, with a map from composed lines back to the files under shaders/. */
export interface ShaderSource {
  /** Cache key and the name used in error messages. */
  name: string;
  code: string;
  /** [first composed line (1-based), source file, its line there]; sorted by the first field. */
  segments: ReadonlyArray<readonly [number, string, number]>;
}

/** Where a line of the composed WGSL came from, as "file:line". */
export function sourceLocation(shader: ShaderSource, line: number): string {
  let found: readonly [number, string, number] | undefined;
  for (const seg of shader.segments) {
    if (seg[0] <= line) found = seg;
    else break;
  }
  if (!found) return `${shader.name}:${line}`;
  return `${found[1]}:${found[2] + (line - found[0])}`;
}

/** A user's shader given as plain text: its lines are its own. */
export function userShader(code: string, name = 'user-shader'): ShaderSource {
  return { name, code, segments: [[1, name, 1]] };
}
