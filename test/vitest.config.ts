import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: browser and LAN tests run their own processes, so files run one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
