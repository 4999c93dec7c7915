import { defineConfig } from 'vitest/config';

// Runs only inside the namespace that test/xdp/compliance.test.ts prepares.
export default defineConfig({
  resolve: { conditions: ['source'] },
  test: {
    include: ['test/xdp/compliance/*.netns.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
