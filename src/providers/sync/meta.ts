import type { ProviderMeta } from '../types.ts'

/** Sync (sync.so): what scripts and the gateway both read. */
export const meta = {
  name: 'sync',
  title: 'Sync',
  secrets: ['SYNC_API_KEY'],
  assetIdParam: 'id',
  accountSecret: 'SYNC_API_KEY',
  defaults: {
    assumedMediaLifetimeS: 3600,
    // Sync stores media in S3, behind CloudFront or its own hosts.
    mediaHosts: ['*.amazonaws.com', '*.cloudfront.net', 'sync.so', '*.sync.so'],
  },
} as const satisfies ProviderMeta

/** Where `npm run dev` points each endpoint var when the provider has no credentials: its sandbox (paths on the dev origin). */
export const sandboxEndpoints: Readonly<Record<string, string>> = { SYNC_BASE_URL: '/__sandbox/sync' }

/** Secrets `npm run dev` sets when .dev.vars does not: none. */
export const sandboxSecrets: Readonly<Record<string, string>> = {}
