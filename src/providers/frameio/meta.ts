import type { ProviderMeta } from '../types.ts'

/** Frame.io API v2: what scripts and the gateway both read. */
export const meta = {
  name: 'frameio',
  title: 'Frame.io',
  secrets: ['FRAMEIO_TOKEN'],
  optionalSecrets: ['FRAMEIO_WEBHOOK_SECRET', 'FRAMEIO_WEBHOOK_SECRET_PREVIOUS'],
  assetIdParam: 'asset_id',
  accountSecret: 'FRAMEIO_TOKEN',
  // Frame.io allows 5 asset reads a second per account.
  defaults: {
    assumedMediaLifetimeS: 3600,
    maxRps: 5,
    // Frame.io serves media from CloudFront distributions and its own hosts (assets.frame.io).
    mediaHosts: ['*.cloudfront.net', 'frame.io', '*.frame.io'],
  },
} as const satisfies ProviderMeta

/** Where `npm run dev` points each endpoint var when the provider has no credentials: its sandbox (paths on the dev origin). */
export const sandboxEndpoints: Readonly<Record<string, string>> = { FRAMEIO_BASE_URL: '/__sandbox/frameio' }

/** Secrets `npm run dev` sets when .dev.vars does not: the sandbox signs its webhooks with this one. */
export const sandboxSecrets: Readonly<Record<string, string>> = { FRAMEIO_WEBHOOK_SECRET: 'sandbox-frameio-webhook-secret' }
