import { strongEtag, type CacheEntry } from './cache/entry'
import { type Directives, NO_DIRECTIVES } from './cache/directives'
import { notFoundWindows, recordWindows, type CachePolicy } from './cache/policy'
import type { CacheOutcome, Loaded, TieredCache } from './cache/tiered-cache'
import { ApiError } from './http/problem'
import type { Upstream } from './http/services'
import type { LookupKey, ProviderAdapter } from './providers/types'
import { notePending } from './freshness/pending-recheck'
import { fetchRecord } from './upstream/fetch-record'

/** What a lookup needs beyond the key: the upstream services and this request's cache. */
export type LookupDeps = { upstream: Upstream; cache: TieredCache; policy: CachePolicy; waitUntil: (p: Promise<unknown>) => void }

const NOT_FOUND_DETAIL = (provider: string) => `${provider} has no such asset, or it is not visible to the gateway's credentials.`

/** One upstream call, turned into a cache entry: the record with its freshness, or a "no such asset". */
async function load(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey): Promise<Loaded> {
  const storedAt = Date.now()
  try {
    const fetched = await fetchRecord(adapter, key, deps.upstream)
    const facts = adapter.facts(fetched.record)
    const entry: CacheEntry = {
      v: 1,
      kind: 'record',
      body: fetched.body,
      etag: await strongEtag(fetched.body),
      state: facts.state,
      storedAt,
      ...recordWindows(deps.policy, adapter.name, facts, storedAt),
    }
    parsed.set(entry, fetched.record)
    if (facts.state === 'processing' && adapter.recheckWhilePending) deps.waitUntil(notePending(deps.upstream.kv, key))
    return { entry, headers: fetched.headers }
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'asset_not_found') throw err
    return { entry: await notFoundEntry(deps.policy, err.extras, storedAt), headers: {} }
  }
}

/** A "no such asset" entry, fresh for the not-found window. */
export async function notFoundEntry(policy: CachePolicy, extras: Record<string, unknown>, storedAt = Date.now()): Promise<CacheEntry> {
  const body = JSON.stringify(extras)
  return { v: 1, kind: 'not_found', body, etag: await strongEtag(body), state: 'not_found', storedAt, ...notFoundWindows(policy, storedAt) }
}

/**
 * The one way to answer "what is asset `key`?": through memory, Cache API and KV to the provider.
 * Routes, redirect links and re-warming all come here, so they share its caching.
 */
export function lookupAsset(
  deps: LookupDeps,
  adapter: ProviderAdapter,
  key: LookupKey,
  directives: Directives = NO_DIRECTIVES,
  awaitWrites = false,
): Promise<CacheOutcome> {
  return deps.cache.get(key.cacheKey, () => load(deps, adapter, key), directives, awaitWrites)
}

/** The 404 a cached "no such asset" answers with. */
export function notFoundError(adapter: ProviderAdapter, outcome: CacheOutcome): ApiError {
  let extras: Record<string, unknown> = {}
  try {
    extras = JSON.parse(outcome.entry.body) as Record<string, unknown>
  } catch {
    // an entry from an older version: answer without upstream details
  }
  return new ApiError(404, 'asset_not_found', NOT_FOUND_DETAIL(adapter.name), { extras, headers: { 'cache-status': outcome.cacheStatus } })
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
