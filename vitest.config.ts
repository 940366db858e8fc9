import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { sluice: new URL('./src/index.ts', import.meta.url).pathname } },
  test: {
    globalSetup: ['test/support/globalSetup.ts'],
    include: ['test/**/*.test.ts'],
    // Most test time is spent waiting on child processes and PostgreSQL, not on the CPU, so three
    // files at once on these 2-core machines (vitest's default would be one) roughly halves the
    // suite; every file has a database of its own. The whole suite passed so under a load
    // average of 10.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
