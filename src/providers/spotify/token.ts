import { GateUnavailable } from '../../coordinator/session'
import { ApiError } from '../../http/errors'
import type { UpstreamDeps } from '../types'

/** KV keys shared by every isolate: the current access token and, once Spotify rotates it, the refresh token. */
const ACCESS_TOKEN_KEY = 'spotify:access-token'
const REFRESH_TOKEN_KEY = 'spotify:refresh-token'
const REUSE_MARGIN_MS = 60_000 // an access token is replaced this long before it expires
const REAUTH_BACKOFF_MS = 60_000 // after invalid_grant, answer at once for this long instead of calling again

type StoredAccessToken = { access_token: string; expires_at: number }
/** A rotated refresh token remembers which configured token it descends from. */
type StoredRefreshToken = { refresh_token: string; origin: string }
/** What the account's gate holds for Spotify (opaque to it): the access token and the refresh token to use next. */
type GateState = StoredAccessToken & Partial<StoredRefreshToken>

/** This isolate's copy of the token, the mint in flight, and the invalid_grant back-off. */
type TokenMemo = { token?: StoredAccessToken; minting?: Promise<string> | undefined; reauthorizeUntil: number }
const memoOf = (deps: Pick<UpstreamDeps, 'isolate'>) => deps.isolate.slot<TokenMemo>('spotify:token', () => ({ reauthorizeUntil: 0 }))

const reauthorizationRequired = () =>
  new ApiError(
    'upstream_reauthorization_required',
    'Spotify refused the refresh token (invalid_grant): a person must authorize the app again and set SPOTIFY_REFRESH_TOKEN.',
  )

const authFailed = (detail: string, upstreamStatus?: number) =>
  new ApiError('upstream_auth_failed', detail, upstreamStatus ? { extras: { upstream_status: upstreamStatus } } : {})

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

function isGateState(state: unknown): state is GateState {
  return typeof state === 'object' && state !== null && typeof (state as GateState).access_token === 'string'
}

/**
 * Mints an access token with the refresh token: the one the gate holds (`held`), else the rotated
 * one in KV, else SPOTIFY_REFRESH_TOKEN — whichever descends from the configured one. A valid token
 * in KV (minted by an isolate that could not reach the gate) is taken instead of minting.
 */
async function mint(deps: UpstreamDeps, held?: GateState): Promise<GateState> {
  const { env, kv } = deps
  const memo = memoOf(deps)
  if (!env.SPOTIFY_CLIENT_ID || !env.SPOTIFY_CLIENT_SECRET || !env.SPOTIFY_REFRESH_TOKEN) {
    throw authFailed('Spotify credentials are not configured (SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET, SPOTIFY_REFRESH_TOKEN).')
  }
  const origin = await fingerprint(env.SPOTIFY_REFRESH_TOKEN)
  const heldRefresh = held?.origin === origin ? held.refresh_token : undefined
  const shared = await kvGet<StoredAccessToken>(kv, ACCESS_TOKEN_KEY)
  if (shared && shared.expires_at - REUSE_MARGIN_MS > Date.now()) {
    memo.token = shared
    return { ...shared, ...(heldRefresh ? { refresh_token: heldRefresh, origin } : {}) }
  }
  const rotated = heldRefresh ? undefined : await kvGet<StoredRefreshToken>(kv, REFRESH_TOKEN_KEY)
  const refreshToken = heldRefresh ?? (rotated?.origin === origin ? rotated.refresh_token : env.SPOTIFY_REFRESH_TOKEN)

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
      memo.reauthorizeUntil = Date.now() + REAUTH_BACKOFF_MS
      throw reauthorizationRequired()
    }
    throw authFailed('Spotify refused to mint an access token.', response.status)
  }
  const minted = body?.access_token
  const expiresIn = Number(body?.expires_in ?? 3600)
  if (typeof minted !== 'string' || !minted || !Number.isFinite(expiresIn)) {
    throw authFailed('Spotify answered the token request without an access token.', response.status)
  }
  memo.token = { access_token: minted, expires_at: Date.now() + expiresIn * 1000 }
  const next = typeof body?.refresh_token === 'string' ? body.refresh_token : refreshToken
  const writes: Promise<unknown>[] = [kv.put(ACCESS_TOKEN_KEY, JSON.stringify(memo.token), { expirationTtl: Math.max(60, expiresIn) })]
  if (next !== refreshToken) {
    const stored: StoredRefreshToken = { refresh_token: next, origin }
    writes.push(kv.put(REFRESH_TOKEN_KEY, JSON.stringify(stored)))
  }
  // A lost write only costs another mint later; the rotated refresh token is retried on the next mint too.
  // (With a gate, the gate's storage holds it first; KV is for isolates that cannot reach the gate.)
  await Promise.allSettled(writes)
  return { ...memo.token, refresh_token: next, origin }
}

/** Through the account's gate: its token, or one minted here while every other isolate waits. */
async function viaGate(deps: UpstreamDeps, gate: NonNullable<UpstreamDeps['gate']>): Promise<string> {
  const memo = memoOf(deps)
  const token = await gate.sharedToken(Date.now() + REUSE_MARGIN_MS, async (held) => {
    const state = await mint(deps, isGateState(held?.state) ? held.state : undefined)
    return { state, validUntil: state.expires_at }
  })
  if (!isGateState(token.state)) throw authFailed('The provider gate holds no Spotify token.')
  memo.token = { access_token: token.state.access_token, expires_at: token.state.expires_at }
  return token.state.access_token
}

/**
 * A Spotify access token: from this isolate, else from the account's gate (which holds it, and
 * the rotated refresh token, for every isolate; one mint at a time), else — without a gate or when
 * it cannot be asked — from KV or minted here. Reused until 60 s before expiry; concurrent callers
 * in one isolate share one request.
 */
export async function accessToken(deps: UpstreamDeps): Promise<string> {
  const memo = memoOf(deps)
  if (memo.token && memo.token.expires_at - REUSE_MARGIN_MS > Date.now()) return memo.token.access_token
  if (Date.now() < memo.reauthorizeUntil) throw reauthorizationRequired()
  const gate = deps.gate
  memo.minting ??= (async () => {
    if (gate && !gate.fellBack) {
      try {
        return await viaGate(deps, gate)
      } catch (err) {
        if (!(err instanceof GateUnavailable)) throw err
      }
    }
    return (await mint(deps)).access_token
  })().finally(() => {
    memo.minting = undefined
  })
  return memo.minting
}

/** Drops the current access token everywhere (this isolate, the gate, KV), after Spotify refused it. */
export async function forgetAccessToken(deps: Pick<UpstreamDeps, 'isolate' | 'kv' | 'gate'>): Promise<void> {
  const memo = memoOf(deps)
  const refused = memo.token
  memo.token = undefined
  await Promise.all([deps.kv.delete(ACCESS_TOKEN_KEY).catch(() => {}), refused && deps.gate ? deps.gate.forgetToken(refused.expires_at) : undefined])
}
