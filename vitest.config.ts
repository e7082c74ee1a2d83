import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  // What scripts/build.mjs puts into the bundle, for the sources under test. The schemas'
  // fingerprint turns the cache of validated blobs on (store/valid-cache.ts), as in the
  // built CLI: every test store is new, so no entry can outlive the schemas it was made with.
  define: { __BUILDCTL_VERSION__: JSON.stringify(version), __BUILDCTL_SCHEMA_FINGERPRINT__: JSON.stringify('vitest') },
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests spawn git and the CLI: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
