import { configDefaults, defineConfig } from 'vitest/config';

// Tests import workspace packages from source (the "source" export condition);
// end-to-end tests spawn the built CLI, so `npm test` runs `tsc -b` first.
const conditions = ['source', 'import', 'module', 'node', 'default'];
const SOAK = 'test/reliability/soak.test.ts';

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Files run one at a time (timing tests must not share the two CPUs with other transfers),
    // beside the 5-minute soak, which lowers its own priority. Each pool has its own worker
    // limit, so the soak gets a pool of its own.
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'], exclude: [...configDefaults.exclude, SOAK], pool: 'forks', poolOptions: { forks: { singleFork: false, maxForks: 1, minForks: 1 } } },
      },
      { extends: true, test: { name: 'soak', include: [SOAK], pool: 'threads', poolOptions: { threads: { maxThreads: 1, minThreads: 1 } } } },
    ],
  },
});
