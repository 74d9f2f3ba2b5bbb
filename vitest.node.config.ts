import { defineConfig } from 'vitest/config'

/**
 * Tests that run in Node and drive Miniflare themselves: several gateway isolates sharing one
 * provider gate (test/node). The workerd suite is vitest.config.ts.
 */
export default defineConfig({
  test: {
    include: ['test/node/**/*.node.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
