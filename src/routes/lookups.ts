import { Hono } from 'hono'
import { parseDirectives } from '../cache/directives'
import type { CacheOutcome } from '../cache/tiered-cache'
import type { AppEnv } from '../http/app-env'
import { gatewayAuth, requireProviderScope } from '../http/auth'
import { cacheHeaders } from '../http/cache-headers'
import { lookupAsset, notFoundError, requireConfigured } from '../lookup'
import { tierOf } from '../metrics/metrics'
import type { ProviderRegistry } from '../providers/types'

/** True when `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

/** The answer for a cached record: its body as the provider sent it, plus the cache's headers. */
function assetResponse(outcome: CacheOutcome, ifNoneMatch: string | undefined): Response {
  const headers = cacheHeaders(outcome, Date.now())
  if (matches(ifNoneMatch, outcome.entry.etag)) return new Response(null, { status: 304, headers })
  headers.set('content-type', 'application/json; charset=utf-8')
  return new Response(outcome.entry.body, { status: 200, headers })
}

/** The mirror routes: `/<provider>` + the provider's own get-asset path, one per adapter, each behind a gateway key. */
export function lookupRoutes(providers: ProviderRegistry) {
  const lookups = new Hono<AppEnv>()
  const auth = gatewayAuth()
  for (const adapter of providers.list) {
    lookups.get(adapter.route, auth, async (c) => {
      c.var.log.provider = adapter.name
      c.var.log.metric = 'lookup'
      // Scope before cache: a key without this provider's scope never reads its entries.
      requireProviderScope(c.var.key, adapter.name)
      const url = c.req.url
      const at = url.indexOf('?')
      const key = adapter.parse(c.req.param(), new URLSearchParams(at < 0 ? '' : url.slice(at + 1)))
      const directives = parseDirectives(c.req.header('cache-control'))
      const deps = c.var.services.lookup
      requireConfigured(deps.config, adapter)
      // The hot path: a fresh entry in isolate memory is answered without awaiting anything.
      const hit = directives.revalidate ? undefined : deps.cache.memoryHit(key.cacheKey, Date.now())
      const outcome = hit ?? (await lookupAsset(deps, adapter, key, directives))
      c.var.log.tier = tierOf(outcome.served)
      if (outcome.entry.kind === 'not_found') throw notFoundError(adapter, outcome)
      c.var.log.bytes = outcome.entry.body.length
      return assetResponse(outcome, c.req.header('if-none-match'))
    })
  }
  return lookups
}
