import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendInfo } from '../../src/engine/backend.js';
import { machineInfo } from './machine.js';
import type { BenchRow } from './rows.js';

/** Writes one suite's results file (bench/results/*.json), the input of bench/report.ts. */
export function writeResults(
  outFile: string,
  suite: { name: string; quick: boolean; backends: { webgpu: BackendInfo | null; cpu: BackendInfo }; skipped: string[]; rows: BenchRow[] },
  extra: Record<string, unknown> = {},
): void {
  const result = { suite: suite.name, date: new Date().toISOString(), quick: suite.quick, machine: machineInfo(), backends: suite.backends, skipped: suite.skipped, rows: suite.rows, ...extra };
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
}
