import { defineConfig } from 'vitest/config';

// Three suites, each run on its own by `npm test` (scripts/test.mjs):
//   unit         pure code and store-level tests beside their files: seconds, part of `npm run check`
//   integration  a real server driven through the SDK, on SQLite and PostgreSQL (Redis, nginx for several nodes)
//   browser      the web client in Chromium against a real server
export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
          testTimeout: 20_000,
          hookTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The browser suite drives several Chromium windows against a real server: steps take seconds.
        extends: true,
        test: {
          name: 'browser',
          include: ['packages/web/e2e/**/*.test.ts'],
          globalSetup: ['packages/web/e2e/_build-once.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
