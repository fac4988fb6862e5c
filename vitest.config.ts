import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // wgsl_reflect's "main" is CommonJS under "type": "module"; its ES module build is the one that loads.
    alias: { wgsl_reflect: 'wgsl_reflect/wgsl_reflect.module.js' },
  },
  test: {
    // Dawn's bindings crash when an adapter is requested in a worker thread: use processes.
    pool: 'forks',
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
