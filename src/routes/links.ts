import { Hono } from 'hono'
import { mediaUrlExpiry } from '../cache/media-expiry'
import { type KeyRecord, gatewayAuth, requireCapability, requireProviderScope } from '../http/auth'
import { ApiError } from '../http/problem'
import { keyRing } from '../links/key-ring'
import { linkAdapter, parseLinkRequest } from '../links/link-request'
import { allowedHosts, linkSettings } from '../links/link-settings'
import { signLinkToken, verifyLinkToken } from '../links/link-token'
import { redirectTarget } from '../links/redirect-target'
import { type LookupDeps, lookupRecord } from '../lookup'
import { isProviderName, PROVIDERS } from '../providers'
import type { LookupKey } from '../providers/types'

type LinksEnv = { Bindings: Env; Variables: { key: KeyRecord; lookup: LookupDeps; requestId: string } }

const MAX_BODY_BYTES = 8192

/**
 * Signed, short-lived redirect links: `POST /links` mints one (a key with the links scope),
 * `GET`/`HEAD /r/{token}` follows one with no key (Hono answers HEAD with the GET route). Mount
 * before any sub-app that authenticates everything it matches.
 */
export const links = new Hono<LinksEnv>()

async function readJson(req: Request): Promise<unknown> {
  if (Number(req.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge()
  const bytes = await req.arrayBuffer()
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge()
  const text = new TextDecoder().decode(bytes)
  try {
    return JSON.parse(text)
  } catch {
    throw new ApiError(400, 'invalid_body', 'The body is not JSON.')
  }
}

const tooLarge = () => new ApiError(413, 'body_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes.`)

links.post('/links', gatewayAuth(), async (c) => {
  requireCapability(c.var.key, 'links')
  const body = await readJson(c.req.raw)
  const adapter = linkAdapter(body)
  requireProviderScope(c.var.key, adapter.name)
  const { key, variant, ttlS } = parseLinkRequest(adapter, body as Record<string, unknown>, linkSettings(c.env))
  const ring = await keyRing(c.env)
  const exp = Math.floor(Date.now() / 1000) + ttlS
  const token = await signLinkToken({ provider: adapter.name, ids: key.ids, query: key.query, variant, exp }, ring.currentId, ring.current)
  const url = new URL(`/r/${token}`, c.req.url).href
  return c.json({ url, expires_at: new Date(exp * 1000).toISOString(), variant }, 201, { 'cache-control': 'no-store' })
})

// Whatever the outcome, a link page is not indexed and leaks no referrer.
links.use('/r/*', async function linkHeaders(c, next) {
  await next()
  c.res.headers.set('referrer-policy', 'no-referrer')
  c.res.headers.set('x-robots-tag', 'noindex')
})

links.get('/r/:token', async (c) => {
  const claims = await verifyLinkToken(c.req.param('token'), await keyRing(c.env), { nowMs: Date.now(), skewS: linkSettings(c.env).skewS })
  // Claims are genuine here; only a provider or a validation rule withdrawn since minting fails.
  const stale = () => new ApiError(400, 'malformed_link_token', 'The link names a lookup this gateway no longer offers.')
  if (!isProviderName(claims.provider)) throw stale()
  const adapter = PROVIDERS[claims.provider]
  let key: LookupKey
  try {
    key = adapter.parse({ ...claims.ids }, new URLSearchParams(claims.query))
  } catch {
    throw stale()
  }

  const { record } = await lookupRecord(c.var.lookup, adapter, key)
  const { state } = adapter.facts(record)
  if (state === 'deleted') throw new ApiError(404, 'asset_not_found', `The ${adapter.name} asset has been deleted.`)
  const media = adapter.media(record, claims.variant)
  if (!media) {
    if (state !== 'ready') throw new ApiError(404, 'asset_not_ready', `The ${adapter.name} asset is not ready (${state}); its media is not available yet.`)
    throw new ApiError(404, 'variant_not_available', `The ${adapter.name} asset has no ${claims.variant} variant.`, { extras: { variant: claims.variant } })
  }
  const location = redirectTarget(media, { allowHttp: c.env.SANDBOX === 'on', allowedHosts: allowedHosts(c.env, adapter.name) })
  if (!location) throw new ApiError(502, 'media_url_refused', `${adapter.name} gave a media URL this gateway does not redirect to.`)

  const now = Date.now()
  const until = Math.min(claims.exp * 1000, mediaUrlExpiry(location) ?? Number.POSITIVE_INFINITY)
  const maxAgeS = Math.max(0, Math.floor((until - now) / 1000))
  return new Response(null, { status: 302, headers: { location, 'cache-control': `private, max-age=${maxAgeS}` } })
})
