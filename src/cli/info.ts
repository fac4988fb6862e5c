import type { Command } from 'commander';
import { createEngine } from '../engine/engine.js';
import type { BackendChoice } from '../engine/engine.js';
import { backendOption } from './backend-option.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('report the backend the engine finds: adapter, feature level, software or hardware, limits')
    .addOption(backendOption())
    .option('--json', 'print one JSON object')
    .action(async (opts: { backend?: BackendChoice; json?: boolean }) => {
      const engine = await createEngine({ backend: opts.backend });
      try {
        const { backend, adapter, featureLevel, software, limits, discovery } = engine.info;
        if (opts.json) {
          console.log(JSON.stringify({ backend, adapter, featureLevel, software, limits, discovery }, null, 2));
          return;
        }
        console.log(`backend        ${backend}`);
        console.log(`adapter        ${adapter}`);
        console.log(`feature level  ${featureLevel}`);
        console.log(`software       ${software ? 'yes' : 'no (hardware)'}`);
        console.log('limits requested and granted:');
        for (const [k, v] of Object.entries(limits)) console.log(`  ${k.padEnd(36)} ${v}`);
        console.log('discovery:');
        for (const line of discovery) console.log(`  ${line}`);
      } finally {
        engine.dispose();
      }
    });
}
