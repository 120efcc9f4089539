import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Browser tests wait on pages that fetch and poll: on a busy machine that takes more than a second.
    expect: { poll: { timeout: 10_000 } },
    reporters: ['default'],
  },
})
