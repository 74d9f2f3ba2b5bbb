import { Hono } from 'hono'
import { parseDirectives } from '../cache/directives'
import type { CacheOutcome } from '../cache/tiered-cache'
import { type KeyRecord, gatewayAuth, requireProviderScope } from '../http/auth'
import { type LookupDeps, lookupAsset, notFoundError } from '../lookup'
import { PROVIDERS } from '../providers'
import type { LogFacts } from '../http/access-log'

type LookupEnv = { Bindings: Env; Variables: { key: KeyRecord; lookup: LookupDeps; requestId: string; log: LogFacts } }

/** True when `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

/** The answer for a cached record: its body as the provider sent it, plus the cache's headers. */
function assetResponse(outcome: CacheOutcome, ifNoneMatch: string | undefined): Response {
  const { entry } = outcome
  const now = Date.now()
  const headers = new Headers(outcome.headers)
  headers.set('etag', entry.etag)
  headers.set('cache-status', outcome.cacheStatus)
  headers.set('age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))))
  headers.set('cache-control', `private, max-age=${Math.max(0, Math.floor((entry.freshUntil - now) / 1000))}`)
  headers.set('server-timing', outcome.timings.join(', '))
  if (matches(ifNoneMatch, entry.etag)) return new Response(null, { status: 304, headers })
  headers.set('content-type', 'application/json; charset=utf-8')
  return new Response(entry.body, { status: 200, headers })
}

/** The mirror routes: `/<provider>` + the provider's own get-asset path, one per adapter. */
export const lookups = new Hono<LookupEnv>()

lookups.use(gatewayAuth())

for (const adapter of Object.values(PROVIDERS)) {
  lookups.get(adapter.route, async (c) => {
    c.var.log.provider = adapter.name
    // Scope before cache: a key without this provider's scope never reads its entries.
    requireProviderScope(c.var.key, adapter.name)
    const key = adapter.parse(c.req.param(), new URL(c.req.url).searchParams)
    const ifNoneMatch = c.req.header('if-none-match')
    const directives = parseDirectives(c.req.header('cache-control'))
    // The hot path: a fresh entry in isolate memory is answered without awaiting anything.
    const hit = directives.revalidate ? undefined : c.var.lookup.cache.memoryHit(key.cacheKey, Date.now())
    const outcome = hit ?? (await lookupAsset(c.var.lookup, adapter, key, directives))
    if (outcome.entry.kind === 'not_found') throw notFoundError(adapter, outcome)
    return assetResponse(outcome, ifNoneMatch)
  })
}
