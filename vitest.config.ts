import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Suites start real servers, Pushpin and Chromium; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
