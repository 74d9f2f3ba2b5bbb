import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'

// Two listed link keys: k2 signs, k1 (older, still listed) only verifies.
const LINK_SIGNING_KEYS = JSON.stringify({
  k1: 'HMaIVsboql/hX1mb7qL61Og6FtgygunabZmGZ0riUaY=',
  k2: 'GfJjHR9rFGKFvcf2ppGDjr+qSqRQYVs1iA7VqnQLs44=',
})
// wrangler checks wrangler.toml [secrets] required against .dev.vars/.env/process.env (it does not see
// the bindings below) and warns once per test file when one is missing: the test value goes there too.
process.env.LINK_SIGNING_KEYS ??= LINK_SIGNING_KEYS
// wrangler's notices (which env file it read) are not test output.
process.env.WRANGLER_LOG ??= 'warn'

/**
 * Tests run inside workerd with real Miniflare KV and Cache, against the built-in sandbox
 * providers (reached in-process, never over the network). A short upstream deadline keeps the
 * "provider hangs" cases quick.
 */
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      // The development entry: the gateway plus the sandbox providers and the development key.
      main: './src/dev.ts',
      miniflare: {
        bindings: {
          DEV_GATEWAY_KEY: 'ae_test_dev_key',
          SPOTIFY_BASE_URL: 'https://sandbox.asset-edge.test/__sandbox/spotify',
          SPOTIFY_TOKEN_URL: 'https://sandbox.asset-edge.test/__sandbox/spotify-accounts/api/token',
          SYNC_BASE_URL: 'https://sandbox.asset-edge.test/__sandbox/sync',
          GUMNUT_BASE_URL: 'https://sandbox.asset-edge.test/__sandbox/gumnut',
          FRAMEIO_BASE_URL: 'https://sandbox.asset-edge.test/__sandbox/frameio',
          UPSTREAM_TIMEOUT_MS: '300',
          UPSTREAM_MAX_RPS_FRAMEIO: '0', // suites call the sandbox back to back; test/pacing.test.ts turns pacing on
          LOG_FLUSH_MS: '0', // flush each tick, so a test sees its request's line
          SYNC_API_KEY: 'test-sync-secret-key',
          GUMNUT_API_KEY: 'apikey_test_gumnut_secret',
          FRAMEIO_TOKEN: 'fio-u-test-frameio-secret',
          SPOTIFY_CLIENT_ID: 'test-spotify-client',
          SPOTIFY_CLIENT_SECRET: 'test-spotify-client-secret',
          SPOTIFY_REFRESH_TOKEN: 'test-spotify-refresh-token',
          FRAMEIO_WEBHOOK_SECRET: 'test-frameio-webhook-secret',
          FRAMEIO_WEBHOOK_SECRET_PREVIOUS: 'test-frameio-webhook-secret-previous',
          LINK_SIGNING_KEYS,
          LINK_SIGNING_KEY_ID: 'k2',
        },
      },
    }),
  ],
  test: {
    // Generous: CI shares two cores, and a few suites send hundreds of requests.
    testTimeout: 20_000,
    include: ['test/**/*.test.ts'],
    // Node tests that drive Miniflare themselves (several isolates): vitest.node.config.ts.
    exclude: ['test/node/**'],
    setupFiles: ['test/setup/leak-scan.ts'],
    // The static assets (/openapi.json, /docs) wrangler builds before dev and deploy ([build] in wrangler.toml).
    globalSetup: ['test/setup/build-assets.ts'],
  },
})
