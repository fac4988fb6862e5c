#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/node/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('emergent: dist/ is missing; run `npm run build` (npm ci runs it for you).');
  process.exit(1);
}
await import(cli.href);
