import { Hono } from 'hono/tiny'
import { mediaUrlExpiry } from '../cache/media-expiry'
import { mediaDeadline } from '../cache/policy'
import type { AppEnv } from '../http/app-env'
import { gatewayAuth, hasProviderScope, keyByDigest, requireCapability, requireProviderScope } from '../http/auth'
import { jsonBody, limitBody } from '../http/body-limit'
import { ApiError } from '../http/errors'
import { keyRing } from '../links/key-ring'
import { linkAdapter, parseLinkRequest } from '../links/link-request'
import { signLinkToken, verifyLinkToken } from '../links/link-token'
import { redirectTarget } from '../links/redirect-target'
import { lookupRecord } from '../lookup'
import { tierOf } from '../metrics/metrics'
import type { LookupKey, ProviderRegistry } from '../providers/types'

const MAX_BODY_BYTES = 8192

/**
 * Signed, short-lived redirect links: `POST /links` mints one (a key with the links scope),
 * `GET`/`HEAD /r/{token}` follows one with no key (Hono answers HEAD with the GET route).
 */
export function linkRoutes(providers: ProviderRegistry) {
  const links = new Hono<AppEnv>()

  links.post('/links', gatewayAuth(), limitBody(MAX_BODY_BYTES), async (c) => {
    requireCapability(c.get('key'), 'links')
    const body = await jsonBody(c.req.raw)
    const adapter = linkAdapter(providers, body)
    requireProviderScope(c.get('key'), adapter.name)
    const { gateway, config } = c.get('services')
    const { key, variant, ttlS } = parseLinkRequest(adapter, body as Record<string, unknown>, config.links)
    if (key.uncached) {
      // A link's lookup must be one the cache serves: a value outside the documented set is refused here.
      const { param, value, allowed } = key.uncached
      throw new ApiError(
        param === 'include' ? 'invalid_include' : 'invalid_query',
        `A link cannot carry \`${param}\` ${JSON.stringify(value)}; allowed: ${allowed.join(', ')}, one at a time where the lookup takes one.`,
        {
          extras: { param, allowed },
        },
      )
    }
    // Links name the configured public origin, never one a request's Host header chose (the dev entry may use the request's).
    const origin = config.links.publicOrigin || (gateway.sandbox ? new URL(c.req.url).origin : '')
    if (!origin) {
      console.error(JSON.stringify({ level: 'error', message: 'signed links are misconfigured', reason: 'PUBLIC_ORIGIN is not set' }))
      throw new ApiError('links_not_configured', 'Signed links are not configured on this gateway.')
    }
    const ring = await keyRing(gateway.isolate, config.links)
    const exp = Math.floor(Date.now() / 1000) + ttlS
    const claims = { provider: adapter.name, ids: key.ids, query: key.query, variant, exp, keyDigest: c.get('keyDigest') }
    const token = await signLinkToken(claims, ring.currentId, ring.current)
    const url = `${origin}/r/${token}`
    return c.json({ url, expires_at: new Date(exp * 1000).toISOString(), variant }, 201, { 'cache-control': 'no-store' })
  })

  // Whatever the outcome, a link page is not indexed and leaks no referrer; other sites embed links (`<img src>`).
  links.use('/r/*', async function linkHeaders(c, next) {
    await next()
    c.res.headers.set('referrer-policy', 'no-referrer')
    c.res.headers.set('x-robots-tag', 'noindex')
    c.res.headers.set('cross-origin-resource-policy', 'cross-origin')
  })

  links.get('/r/:token', async (c) => {
    const { gateway, config, lookup } = c.get('services')
    const { skewS, maxTtlS } = config.links
    const claims = await verifyLinkToken(c.req.param('token'), await keyRing(gateway.isolate, config.links), { nowMs: Date.now(), skewS, maxTtlS })
    // Claims are genuine here; only a provider or a validation rule withdrawn since minting fails.
    const stale = () => new ApiError('malformed_link_token', 'The link names a lookup this gateway no longer offers.')
    const adapter = providers.get(claims.provider)
    if (!adapter) throw stale()
    let key: LookupKey
    try {
      key = adapter.parse({ ...claims.ids }, new URLSearchParams(claims.query))
    } catch {
      throw stale()
    }

    // A link lives only as long as the key that minted it may mint it (within KEY_CACHE_TTL_S).
    const minter = await keyByDigest(c.get('services'), c.env, claims.keyDigest)
    if (!minter?.scopes.links || !hasProviderScope(minter, adapter.name)) {
      throw new ApiError('link_revoked', 'The gateway key that minted this link has been revoked or may no longer mint it.')
    }

    Object.assign(c.get('log'), { provider: adapter.name, metric: 'redirect' })
    const { record, outcome } = await lookupRecord(lookup, adapter, key)
    Object.assign(c.get('log'), { tier: tierOf(outcome.served), bytes: outcome.entry.body.length })
    const { state } = adapter.facts(record)
    if (state === 'deleted') throw new ApiError('asset_not_found', `The ${adapter.name} asset has been deleted.`)
    const media = adapter.media(record, claims.variant)
    if (!media) {
      if (state !== 'ready') throw new ApiError('asset_not_ready', `The ${adapter.name} asset is not ready (${state}); its media is not available yet.`)
      throw new ApiError('variant_not_available', `The ${adapter.name} asset has no ${claims.variant} variant.`, { extras: { variant: claims.variant } })
    }
    const location = redirectTarget(media, {
      allowHttp: gateway.sandbox,
      allowedHosts: config.provider(adapter.name).allowedHosts,
      ...(gateway.devRedirects ? { alsoAllowed: gateway.devRedirects } : {}),
    })
    if (!location) throw new ApiError('media_url_refused', `${adapter.name} gave a media URL this gateway does not redirect to.`)

    // The browser may reuse the redirect until the link or the media URL dies; a URL that shows no
    // expiry lives the provider's assumed lifetime from when the record was fetched, less
    // MEDIA_URL_MIN_VALIDITY_S (the record's own media deadline, as the cache counts it).
    const now = Date.now()
    const mediaUntil = mediaUrlExpiry(location) ?? mediaDeadline(config, adapter.name, [location], outcome.entry.storedAt)
    const until = Math.min(claims.exp * 1000, mediaUntil)
    const maxAgeS = Math.max(0, Math.floor((until - now) / 1000))
    return new Response(null, { status: 302, headers: { location, 'cache-control': `private, max-age=${maxAgeS}` } })
  })

  return links
}
