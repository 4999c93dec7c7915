import { defineConfig } from 'vitest/config';

// Tests import workspace packages from source (the "source" export condition);
// end-to-end tests spawn the built CLI, so `npm test` runs `tsc -b` first.
const conditions = ['source', 'import', 'module', 'node', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
