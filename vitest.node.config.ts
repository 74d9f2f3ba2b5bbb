import { defineConfig } from 'vitest/config'

/**
 * Tests that run in Node (test/node): several gateway isolates sharing one provider gate and the keys
 * CLI, driving Miniflare themselves, and the check that the tests' workerd is `npm run dev`'s. The
 * workerd suite is vitest.config.ts.
 */
export default defineConfig({
  test: {
    include: ['test/node/**/*.node.test.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
