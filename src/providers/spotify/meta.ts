import type { ProviderMeta } from '../types.ts'

/** Spotify Ads API (Ad Studio): what scripts and the gateway both read. */
export const meta = {
  name: 'spotify',
  title: 'Spotify Ads',
  secrets: ['SPOTIFY_CLIENT_ID', 'SPOTIFY_CLIENT_SECRET', 'SPOTIFY_REFRESH_TOKEN'],
  assetIdParam: 'asset_id',
  accountSecret: 'SPOTIFY_CLIENT_ID',
  oauth: true,
  defaults: {
    assumedMediaLifetimeS: 86_400,
    // Spotify's media: Google Cloud Storage or its CDNs.
    mediaHosts: ['storage.googleapis.com', '*.scdn.co', '*.spotifycdn.com'],
  },
} as const satisfies ProviderMeta

/** Where `npm run dev` points each endpoint var when the provider has no credentials: its sandbox (paths on the dev origin). */
export const sandboxEndpoints: Readonly<Record<string, string>> = {
  SPOTIFY_BASE_URL: '/__sandbox/spotify',
  SPOTIFY_TOKEN_URL: '/__sandbox/spotify-accounts/api/token',
}

/** Secrets `npm run dev` sets when .dev.vars does not: none. */
export const sandboxSecrets: Readonly<Record<string, string>> = {}
