import { parseDirectives } from '../cache/directives'
import { memoryHit } from '../cache/tiered-cache'
import type { IsolateState } from '../isolate-state'
import type { LookupKey, ProviderAdapter } from '../providers/types'
import { pathAndQuery, redactedPathOf, writeAccessLog } from './access-log'
import type { Gateway } from './app-env'
import { hasProviderScope, presentedKey } from './auth'
import { assetResponse } from './cache-headers'
import { requestIdOf } from './request-id'
import { SECURITY_HEADERS } from './security-headers'

/**
 * A mirror-route request the full path has parsed before: its adapter and lookup key, by the
 * request's path and query as sent. `adapter.parse` is a pure function of those, so the key holds
 * for every later request with the same path and query. `redacted` is the path as the access log
 * shows it, for the env it was redacted with.
 */
export type KnownLookup = { adapter: ProviderAdapter; key: LookupKey; redacted?: { env: object; path: string } }

/** Files a lookup the full path parsed, for the hit path to find (never an uncached one). */
export function rememberLookup(isolate: IsolateState, url: string, adapter: ProviderAdapter, key: LookupKey): void {
  if (!key.uncached) isolate.lookups.set(pathAndQuery(url), { adapter, key })
}

/**
 * The memory-hit path, ahead of the router and its middleware: a GET of a mirror route this isolate
 * parsed before, with a gateway key it verified (and that may read the provider), for a record
 * fresh in isolate memory, answered with exactly the headers, access-log line and metrics data
 * point the full path gives it. Anything else (no key or one not verified here, a `no-cache`, a
 * provider not configured, a miss, a stale or "no such asset" entry) returns undefined, and the
 * request takes the full path, which decides it as it always has.
 */
export function hitPath(gateway: Gateway, request: Request, env: Env, ctx: ExecutionContext): Response | undefined {
  if (request.method !== 'GET') return undefined
  const { isolate } = gateway
  const url = request.url
  const known = isolate.lookups.get(pathAndQuery(url))
  if (!known) return undefined
  const now = Date.now()
  const presented = presentedKey(request)
  const verified = presented === undefined ? undefined : isolate.keys.get(presented)
  if (!verified?.record || verified.until <= now) return undefined
  const { adapter, key } = known
  if (!hasProviderScope(verified.record, adapter.name)) return undefined
  const headers = request.headers
  if (parseDirectives(headers.get('cache-control')).revalidate) return undefined
  const config = gateway.config(env)
  if (!config.provider(adapter.name).configured) return undefined
  const outcome = memoryHit(isolate.memoryTier(config.memory), key.cacheKey, now)
  if (outcome?.entry.kind !== 'record') return undefined

  const id = requestIdOf(headers.get('x-request-id'))
  const response = assetResponse(outcome, headers.get('if-none-match'), now, SECURITY_HEADERS, id)
  if (known.redacted?.env !== env) known.redacted = { env, path: redactedPathOf(gateway.redactor, env, url) }
  writeAccessLog(gateway, config, env, (p) => ctx.waitUntil(p), {
    requestId: id,
    method: 'GET',
    route: adapter.route,
    url,
    response,
    facts: { provider: adapter.name, metric: 'lookup', tier: 'memory', bytes: outcome.entry.body.length },
    start: now,
    redactedPath: known.redacted.path,
  })
  return response
}
