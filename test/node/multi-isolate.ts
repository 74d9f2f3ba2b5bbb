import { build } from 'esbuild'
import { convertV4MiniflareOptions, Miniflare } from 'miniflare'

/**
 * Several copies of the gateway Worker, each its own isolate with its own module state, all bound
 * to one PROVIDER_GATE namespace (by `scriptName`) and one KV namespace, calling a fake provider
 * Worker that counts calls: how a deployment looks from one account's point of view.
 * Paths are the project root's (npm scripts run there).
 */
export const DEV_KEY = 'ae_multi_isolate_dev_key'
export const FAKE = 'http://provider.test'

/** The dev entry (src/dev.ts) bundled as one ES module, as wrangler would. */
export async function bundleGateway(): Promise<string> {
  const result = await build({
    entryPoints: ['src/dev.ts'],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser', 'import'],
    mainFields: ['module', 'main'],
    external: ['cloudflare:*', 'node:*'],
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]?.text ?? ''
}

/** `fetch` sends the development key unless `init` carries a key of its own. */
export type Cluster = { mf: Miniflare; gateways: string[]; fetch(gateway: string, path: string, init?: RequestInit): Promise<Response> }

/** How a cluster binds KV: namespace ids by binding, and the storage folder (in memory without one). */
export type ClusterStorage = { kvNamespaces?: Record<string, string | { id: string }>; persistTo?: string }

/**
 * Starts `isolates` gateway Workers (`gw0` hosts the gate class) and the fake provider; with
 * `gate: false` the gateways have no PROVIDER_GATE binding (each isolate works alone). `persistTo`
 * is a `wrangler dev --persist-to` folder: the gateways then read that folder's KV, as `npm run dev` does.
 */
export async function startCluster(
  script: string,
  isolates: number,
  vars: Record<string, string> = {},
  { gate = true, kvNamespaces = { ASSET_KV: 'asset-kv' }, persistTo }: { gate?: boolean } & ClusterStorage = {},
): Promise<Cluster> {
  const gateways = Array.from({ length: isolates }, (_, i) => `gw${i}`)
  const bindings = {
    DEV_GATEWAY_KEY: DEV_KEY,
    FRAMEIO_BASE_URL: `${FAKE}/frameio`,
    SPOTIFY_BASE_URL: `${FAKE}/spotify`,
    SPOTIFY_TOKEN_URL: `${FAKE}/token`,
    SYNC_BASE_URL: `${FAKE}/sync`,
    GUMNUT_BASE_URL: `${FAKE}/gumnut`,
    FRAMEIO_TOKEN: 'fio-u-multi-isolate-token',
    SPOTIFY_CLIENT_ID: 'multi-isolate-client',
    SPOTIFY_CLIENT_SECRET: 'multi-isolate-client-secret',
    SPOTIFY_REFRESH_TOKEN: 'multi-isolate-refresh-token',
    LOG_FLUSH_MS: '0',
    ...vars,
  }
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        ...gateways.map((name) => ({
          name,
          modules: true,
          script,
          compatibilityDate: '2026-11-01',
          bindings,
          kvNamespaces,
          durableObjects: gate ? { PROVIDER_GATE: { className: 'ProviderGate', scriptName: 'gw0' } } : {},
          outboundService: 'provider',
        })),
        { name: 'provider', modules: true, scriptPath: 'test/node/fake-provider.js', compatibilityDate: '2026-11-01' },
      ],
      ...(persistTo ? { resourcePersistencePath: `${persistTo}/v3` } : {}),
      // The Workers' access log is not this test's business; their warnings and errors are.
      handleStructuredLogs({ level, message }: { level: string; message: string }) {
        if (level === 'warn' || level === 'error') console.error(message)
      },
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  )
  await mf.ready
  const fetchers = new Map<string, Awaited<ReturnType<Miniflare['getWorker']>>>()
  for (const name of gateways) fetchers.set(name, await mf.getWorker(name))
  return {
    mf,
    gateways,
    async fetch(gateway, path, init = {}) {
      const fetcher = fetchers.get(gateway)
      if (!fetcher) throw new Error(`no gateway ${gateway}`)
      const headers = new Headers(init.headers)
      if (!headers.has('authorization') && !headers.has('x-api-key')) headers.set('authorization', `Bearer ${DEV_KEY}`)
      const response = await fetcher.fetch(`https://gateway.test${path}`, { ...init, headers } as never)
      return response as unknown as Response
    },
  }
}

export type ProviderStats = { frameio: number[]; spotify: number; token: number; invalidGrant: number }

/** The fake provider's counters (and a reset, with the refresh token it accepts first). */
export async function providerStats(cluster: Cluster, reset?: { refresh: string }): Promise<ProviderStats> {
  const provider = await cluster.mf.getWorker('provider')
  const path = reset ? `/__reset?refresh=${encodeURIComponent(reset.refresh)}` : '/__stats'
  const response = await provider.fetch(`${FAKE}${path}`)
  return (await response.json()) as ProviderStats
}

/** The most calls that fell in any one-second window. */
export function busiestSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= 1000) j++
    most = Math.max(most, i - j + 1)
  }
  return most
}
