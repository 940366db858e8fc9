import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { alias: { sluice: new URL('./src/index.ts', import.meta.url).pathname } },
  test: {
    globalSetup: ['test/support/globalSetup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
