// Runs a TypeScript entry (a benchmark or an example) by bundling it with esbuild into a temporary module.
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(root, 'node_modules', '.emergent-run-'));
const outfile = join(dir, 'main.mjs');
await build({
  absWorkingDir: root,
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'es2022',
  mainFields: ['module', 'main'],
  packages: 'external',
  alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' },
  logLevel: 'warning',
});
process.argv = [process.argv[0], join(root, entry), ...args];
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
