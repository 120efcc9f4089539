import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // The preflight stops the run at once, naming what the machine lacks (PostgreSQL, Redis,
    // Chromium); then one migrated embedded database is made for every PGlite test app to copy.
    globalSetup: ['test/support/preflight.ts', 'test/support/embedded-image.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Browser tests wait on pages that fetch and poll: on a busy machine that takes more than a second.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default'],
  },
})
