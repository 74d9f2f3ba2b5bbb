import { existsSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig, type Plugin } from 'vitest/config'

/**
 * A dependency whose published source map names sources it does not ship (standardwebhooks 1.1.1:
 * dist/index.js.map → ../src/index.ts) makes Vite print "Sourcemap … points to missing source
 * files" when a test loads it. Such a file is loaded without its map (stack traces then point at
 * the shipped JavaScript, which is all there is).
 */
function skipBrokenDependencySourceMaps(): Plugin {
  return {
    name: 'skip-broken-dependency-source-maps',
    enforce: 'pre',
    load(id) {
      const file = id.split('?')[0] ?? id
      if (!file.includes('/node_modules/') || !/\.[cm]?js$/.test(file) || !existsSync(file)) return null
      const code = readFileSync(file, 'utf8')
      const url = /\n\/\/# sourceMappingURL=([^\s]+)\s*$/.exec(code)?.[1]
      if (!url || url.startsWith('data:')) return null
      const mapFile = resolve(dirname(file), url)
      try {
        const map = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources?: string[]; sourceRoot?: string; sourcesContent?: unknown[] }
        const root = resolve(dirname(mapFile), map.sourceRoot ?? '')
        const complete = (map.sources ?? []).every((source, i) => map.sourcesContent?.[i] != null || existsSync(resolve(root, source)))
        return complete ? null : code.slice(0, code.lastIndexOf('\n//# sourceMappingURL='))
      } catch {
        return null
      }
    },
  }
}

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
    skipBrokenDependencySourceMaps(),
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
    // Each file in a fresh Worker, as the suites are written (module state such as the sandbox and
    // isolate state is per file). Vitest's default, said here: a run that leaves it implicit ends
    // with a hint to turn it off.
    isolate: true,
    // Node tests that drive Miniflare themselves (several isolates): vitest.node.config.ts.
    exclude: ['test/node/**'],
    setupFiles: ['test/setup/leak-scan.ts'],
    // The static assets (/openapi.json, /docs) wrangler builds before dev and deploy ([build] in wrangler.toml).
    globalSetup: ['test/setup/build-assets.ts'],
  },
})
