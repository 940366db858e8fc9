import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { sluice: new URL('./src/index.ts', import.meta.url).pathname } },
  test: {
    globalSetup: ['test/support/globalSetup.ts'],
    include: ['test/**/*.test.ts'],
    // Most test time is spent waiting on child processes and PostgreSQL, not on the CPU: with three
    // files at once on these 2-core machines the suite kept about 1.4 cores busy. Four files at
    // once (vitest's default would be one) use the rest; every file has a database of its own.
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
