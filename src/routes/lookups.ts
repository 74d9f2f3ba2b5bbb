import { Hono } from 'hono/tiny'
import { parseDirectives } from '../cache/directives'
import { memoryHit } from '../cache/tiered-cache'
import type { AppEnv } from '../http/app-env'
import { gatewayAuth, requireProviderScope } from '../http/auth'
import { assetResponse } from '../http/cache-headers'
import { ApiError } from '../http/errors'
import { rememberLookup } from '../http/hit-path'
import { lookupAsset, notFoundError, requireConfigured } from '../lookup'
import { tierOf } from '../metrics/metrics'
import type { ProviderRegistry } from '../providers/types'

/** The query of a request without one: shared, as adapters only read the query they parse. */
const NO_QUERY = new URLSearchParams()

/**
 * A provider's error answer as the provider gave it: its status, body bytes, content type, and its
 * rate-limit and request-id headers. Beside them the gateway adds `Cache-Status`, `Cache-Control:
 * no-store`, `x-asset-edge-error` (its own code for the outcome) and, where the provider refused
 * the gateway's own credentials, `x-should-retry: false`: retrying cannot cure what the client
 * does not hold.
 */
export function providerErrorResponse(err: ApiError & { answer: NonNullable<ApiError['answer']> }): Response {
  const { answer } = err
  const headers = new Headers(answer.headers)
  if (answer.contentType !== undefined) headers.set('content-type', answer.contentType)
  const cacheStatus = err.headers['cache-status']
  if (cacheStatus) headers.set('cache-status', cacheStatus)
  headers.set('cache-control', 'no-store')
  headers.set('x-asset-edge-error', err.code)
  if (err.code === 'upstream_auth_failed') headers.set('x-should-retry', 'false')
  return new Response(answer.body.byteLength > 0 ? answer.body : null, { status: answer.status, headers })
}

/** The mirror routes: `/<provider>` + the provider's own get-asset path, one per adapter, each behind a gateway key. */
export function lookupRoutes(providers: ProviderRegistry) {
  const lookups = new Hono<AppEnv>()
  const auth = gatewayAuth()
  for (const adapter of providers.list) {
    lookups.get(adapter.route, auth, async (c) => {
      c.get('log').provider = adapter.name
      c.get('log').metric = 'lookup'
      // Scope before cache: a key without this provider's scope never reads its entries.
      requireProviderScope(c.get('key'), adapter.name)
      const url = c.req.url
      const at = url.indexOf('?')
      const key = adapter.parse(c.req.param(), at < 0 ? NO_QUERY : new URLSearchParams(url.slice(at + 1)))
      const directives = parseDirectives(c.req.header('cache-control'))
      const { gateway, config } = c.get('services')
      requireConfigured(config, adapter)
      rememberLookup(gateway.isolate, url, adapter, key)
      // The hot path: a fresh entry in isolate memory is answered without awaiting anything (nor
      // building the lookup services).
      const hit = directives.revalidate || key.uncached ? undefined : memoryHit(gateway.isolate.memoryTier(config.memory), key.cacheKey, Date.now())
      try {
        const outcome = hit ?? (await lookupAsset(c.get('services').lookup, adapter, key, directives))
        c.get('log').tier = tierOf(outcome.served)
        if (outcome.entry.kind === 'not_found') throw notFoundError(adapter, outcome)
        c.get('log').bytes = outcome.entry.body.length
        return assetResponse(outcome, c.req.header('if-none-match'), Date.now())
      } catch (err) {
        // What the provider answered reaches the client as the provider answered it (SDKs parse it).
        if (!(err instanceof ApiError) || !err.answer) throw err
        Object.assign(c.get('log'), { code: err.code, upstream_status: err.answer.status })
        return providerErrorResponse(err as ApiError & { answer: NonNullable<ApiError['answer']> })
      }
    })
  }
  return lookups
}
