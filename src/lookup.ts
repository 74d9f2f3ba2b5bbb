import { type Directives, NO_DIRECTIVES } from './cache/directives'
import { type CacheEntry, strongEtag } from './cache/entry'
import { notFoundWindows, recordWindows } from './cache/policy'
import { type CacheOutcome, type Loaded, LoadFailedError, NotCachedError, type TieredCache } from './cache/tiered-cache'
import type { Config } from './config'
import { notePending } from './freshness/pending-recheck'
import { cacheStatusOf } from './http/cache-headers'
import { ApiError } from './http/errors'
import type { LookupKey, ProviderAdapter, ProviderRegistry, UpstreamDeps } from './providers/types'
import { fetchRecord } from './upstream/fetch-record'

/** Upstream access without a per-call signal: what fetchRecord and the freshness paths share. */
export type Upstream = Omit<UpstreamDeps, 'signal'>

/** What a lookup needs beyond the key: upstream access, this request's cache, the settings. */
export type LookupDeps = {
  upstream: Upstream
  cache: TieredCache
  config: Config
  providers: ProviderRegistry
  waitUntil: (p: Promise<unknown>) => void
}

/** Upstream failures a stale copy may stand in for (the provider's "no such asset" is not one). */
const STALE_IF_ERROR_STATUSES = new Set([429, 502, 503, 504])

/** The status of a failure a stale copy may stand in for, or undefined (the cache's `staleStatus`). */
export function staleStatus(err: unknown): number | undefined {
  return err instanceof ApiError && STALE_IF_ERROR_STATUSES.has(err.status) ? err.status : undefined
}

/** One upstream call, turned into a cache entry: the record with its freshness, or a "no such asset". */
async function load(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey): Promise<Loaded> {
  const storedAt = Date.now()
  try {
    const fetched = await fetchRecord(adapter, key, deps.upstream, deps.config)
    const facts = adapter.facts(fetched.record)
    const entry: CacheEntry = {
      v: 1,
      kind: 'record',
      body: fetched.body,
      etag: await strongEtag(fetched.body),
      state: facts.state,
      storedAt,
      ...recordWindows(deps.config, adapter.name, facts, storedAt),
    }
    parsed.set(entry, fetched.record)
    if (facts.state === 'processing' && adapter.recheckWhilePending) deps.waitUntil(notePending(deps.upstream, key))
    return { entry, headers: fetched.headers }
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'asset_not_found') throw err
    return { entry: await notFoundEntry(deps.config, err.extras, storedAt), headers: {} }
  }
}

/** A "no such asset" entry, fresh for the not-found window. */
export async function notFoundEntry(config: Config, extras: Record<string, unknown>, storedAt = Date.now()): Promise<CacheEntry> {
  const body = JSON.stringify(extras)
  return { v: 1, kind: 'not_found', body, etag: await strongEtag(body), state: 'not_found', storedAt, ...notFoundWindows(config, storedAt) }
}

/** Before any tier: a provider without its credentials is not served at all, not even from cache. */
export function requireConfigured(config: Config, adapter: ProviderAdapter): void {
  if (config.provider(adapter.name).configured) return
  throw new ApiError('provider_not_configured', `${adapter.name} is not configured on this gateway (its secrets are not set).`, {
    extras: { provider: adapter.name },
  })
}

/**
 * The one way to answer "what is asset `key`?": through memory, Cache API and KV to the provider.
 * Routes, redirect links and re-warming all come here, so they share its caching. Failures are
 * `ApiError`s carrying the `Cache-Status` of the attempt.
 */
export async function lookupAsset(
  deps: LookupDeps,
  adapter: ProviderAdapter,
  key: LookupKey,
  directives: Directives = NO_DIRECTIVES,
  awaitWrites = false,
): Promise<CacheOutcome> {
  requireConfigured(deps.config, adapter)
  try {
    return await deps.cache.get(key.cacheKey, () => load(deps, adapter, key), directives, awaitWrites)
  } catch (err) {
    if (err instanceof NotCachedError) {
      throw new ApiError('not_cached', 'Nothing usable is cached for this asset, and the request said only-if-cached.', {
        headers: { 'cache-status': cacheStatusOf({ kind: 'not-cached' }) },
      })
    }
    if (!(err instanceof LoadFailedError)) throw err
    const cause = err.cause
    if (cause instanceof ApiError) cause.headers['cache-status'] = cacheStatusOf({ kind: 'failed', fwd: err.fwd, status: cause.status })
    throw cause
  }
}

/** The 404 a cached "no such asset" answers with. */
export function notFoundError(adapter: ProviderAdapter, outcome: CacheOutcome): ApiError {
  let extras: Record<string, unknown> = {}
  try {
    extras = JSON.parse(outcome.entry.body) as Record<string, unknown>
  } catch {
    // an entry from an older version: answer without upstream details
  }
  return new ApiError('asset_not_found', `${adapter.name} has no such asset, or it is not visible to the gateway's credentials.`, {
    extras,
    headers: { 'cache-status': cacheStatusOf(outcome.served, outcome.entry) },
  })
}

const parsed = new WeakMap<CacheEntry, unknown>()

/** The parsed record of a lookup (parsed once per entry), or the 404 for "no such asset". */
export async function lookupRecord(
  deps: LookupDeps,
  adapter: ProviderAdapter,
  key: LookupKey,
  directives: Directives = NO_DIRECTIVES,
): Promise<{ record: unknown; outcome: CacheOutcome }> {
  const outcome = await lookupAsset(deps, adapter, key, directives)
  if (outcome.entry.kind === 'not_found') throw notFoundError(adapter, outcome)
  let record = parsed.get(outcome.entry)
  if (record === undefined) {
    record = JSON.parse(outcome.entry.body) as unknown
    parsed.set(outcome.entry, record)
  }
  return { record, outcome }
}
