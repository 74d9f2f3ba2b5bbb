import type { ProviderMeta } from '../types.ts'

/** Gumnut photo library: what scripts and the gateway both read. */
export const meta = {
  name: 'gumnut',
  title: 'Gumnut',
  secrets: ['GUMNUT_API_KEY'],
  assetIdParam: 'asset_id',
  accountSecret: 'GUMNUT_API_KEY',
  defaults: {
    assumedMediaLifetimeS: 900,
    // Gumnut's signed CDN (`verify=`/`dl=` URLs).
    mediaHosts: ['assets.gumnut.ai'],
  },
} as const satisfies ProviderMeta

/** Where `npm run dev` points each endpoint var when the provider has no credentials: its sandbox (paths on the dev origin). */
export const sandboxEndpoints: Readonly<Record<string, string>> = { GUMNUT_BASE_URL: '/__sandbox/gumnut' }

/** Secrets `npm run dev` sets when .dev.vars does not: none. */
export const sandboxSecrets: Readonly<Record<string, string>> = {}
