import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every test process is hardened as the bridge is: __proto__ as an accessor throws.
    setupFiles: ['test/setup/harden.ts'],
    // Two cores: files run in parallel, each file's tests in order.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    hookTimeout: 60_000,
  },
});
