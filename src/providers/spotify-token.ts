import { ApiError } from '../http/problem'
import type { UpstreamDeps } from './types'

/** KV keys shared by every isolate: the current access token and, once Spotify rotates it, the refresh token. */
const ACCESS_TOKEN_KEY = 'spotify:access-token'
const REFRESH_TOKEN_KEY = 'spotify:refresh-token'
const REUSE_MARGIN_MS = 60_000 // an access token is replaced this long before it expires
const REAUTH_BACKOFF_MS = 60_000 // after invalid_grant, answer at once for this long instead of calling again

type StoredAccessToken = { access_token: string; expires_at: number }
/** A rotated refresh token remembers which configured token it descends from. */
type StoredRefreshToken = { refresh_token: string; origin: string }

let memo: StoredAccessToken | undefined
let minting: Promise<string> | undefined
let reauthorizeUntil = 0

const reauthorizationRequired = () =>
  new ApiError(
    502,
    'spotify_reauthorization_required',
    'Spotify refused the refresh token (invalid_grant): a person must authorize the app again and set SPOTIFY_REFRESH_TOKEN.',
  )

const authFailed = (detail: string, upstreamStatus?: number) =>
  new ApiError(502, 'upstream_auth_failed', detail, upstreamStatus ? { extras: { upstream_status: upstreamStatus } } : {})

async function fingerprint(secret: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret))
  return btoa(String.fromCharCode(...new Uint8Array(digest).slice(0, 12)))
}

async function kvGet<T>(kv: KVNamespace, key: string): Promise<T | null> {
  try {
    return await kv.get<T>(key, 'json')
  } catch {
    return null // KV is a cache of tokens, not a dependency
  }
}

async function mint(deps: UpstreamDeps): Promise<string> {
  const { env, kv } = deps
  const shared = await kvGet<StoredAccessToken>(kv, ACCESS_TOKEN_KEY)
  if (shared && shared.expires_at - REUSE_MARGIN_MS > Date.now()) {
    memo = shared
    return shared.access_token
  }
  if (!env.SPOTIFY_CLIENT_ID || !env.SPOTIFY_CLIENT_SECRET || !env.SPOTIFY_REFRESH_TOKEN) {
    throw authFailed('Spotify credentials are not configured (SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, SPOTIFY_REFRESH_TOKEN).')
  }
  const origin = await fingerprint(env.SPOTIFY_REFRESH_TOKEN)
  const rotated = await kvGet<StoredRefreshToken>(kv, REFRESH_TOKEN_KEY)
  const refreshToken = rotated?.origin === origin ? rotated.refresh_token : env.SPOTIFY_REFRESH_TOKEN

  const response = await deps.fetch(env.SPOTIFY_TOKEN_URL, {
    method: 'POST',
    headers: {
      authorization: `Basic ${btoa(`${env.SPOTIFY_CLIENT_ID}:${env.SPOTIFY_CLIENT_SECRET}`)}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    signal: deps.signal,
  })
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null
  if (!response.ok) {
    if (body?.error === 'invalid_grant') {
      reauthorizeUntil = Date.now() + REAUTH_BACKOFF_MS
      throw reauthorizationRequired()
    }
    throw authFailed('Spotify refused to mint an access token.', response.status)
  }
  const accessToken = body?.access_token
  const expiresIn = Number(body?.expires_in ?? 3600)
  if (typeof accessToken !== 'string' || !accessToken || !Number.isFinite(expiresIn)) {
    throw authFailed('Spotify answered the token request without an access token.', response.status)
  }
  memo = { access_token: accessToken, expires_at: Date.now() + expiresIn * 1000 }
  const writes: Promise<unknown>[] = [
    kv.put(ACCESS_TOKEN_KEY, JSON.stringify(memo), { expirationTtl: Math.max(60, expiresIn) }),
  ]
  if (typeof body?.refresh_token === 'string' && body.refresh_token !== refreshToken) {
    const stored: StoredRefreshToken = { refresh_token: body.refresh_token, origin }
    writes.push(kv.put(REFRESH_TOKEN_KEY, JSON.stringify(stored)))
  }
  // A lost write only costs another mint later; the rotated refresh token is retried on the next mint too.
  await Promise.allSettled(writes)
  return accessToken
}

/**
 * A Spotify access token: from this isolate, else from KV (shared by all isolates), else minted
 * with the refresh token. Reused until 60 s before expiry; concurrent callers share one mint.
 */
export async function spotifyAccessToken(deps: UpstreamDeps): Promise<string> {
  if (memo && memo.expires_at - REUSE_MARGIN_MS > Date.now()) return memo.access_token
  if (Date.now() < reauthorizeUntil) throw reauthorizationRequired()
  minting ??= mint(deps).finally(() => {
    minting = undefined
  })
  return minting
}

/** Drops the current access token everywhere, after Spotify refused it. */
export async function forgetSpotifyAccessToken(kv: KVNamespace): Promise<void> {
  memo = undefined
  await kv.delete(ACCESS_TOKEN_KEY).catch(() => {})
}

/** Resets this isolate's token state (tests). */
export function resetSpotifyTokenState(): void {
  memo = undefined
  minting = undefined
  reauthorizeUntil = 0
}
