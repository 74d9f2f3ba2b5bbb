import { type Directives, NO_DIRECTIVES } from './cache/directives'
import { type CacheEntry, strongEtag } from './cache/entry'
import { notFoundWindows, recordWindows } from './cache/policy'
import { type CacheOutcome, type Loaded, LoadFailedError, NotCachedError, type TieredCache } from './cache/tiered-cache'
import type { Config } from './config'
import { type GateSession, openGate } from './coordinator'
import type { EventSink } from './events/emit'
import { notePending } from './freshness/pending-recheck'
import { cacheStatusOf } from './http/cache-headers'
import { ApiError, type ProviderAnswer } from './http/errors'
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
  /** Prefix of the provider gates' names (tests take a new one per test). */
  gateScope: string
  /** Where asset changes are reported (webhook subscribers' events). */
  events?: EventSink
}

/** Upstream failures a stale copy may stand in for (the provider's "no such asset" is not one). */
const STALE_IF_ERROR_STATUSES = new Set([429, 502, 503, 504])

/** The status of a failure a stale copy may stand in for, or undefined (the cache's `staleStatus`). */
export function staleStatus(err: unknown): number | undefined {
  return err instanceof ApiError && STALE_IF_ERROR_STATUSES.has(err.status) ? err.status : undefined
}

/**
 * A cold miss: one upstream call for the provider account as a whole when its gate says so
 * (single flight across isolates: a joiner gets the leader's entry), else one call here.
 */
async function load(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey, since: number): Promise<Loaded> {
  const gate = await openGate(
    { env: deps.upstream.env, isolate: deps.upstream.isolate, scope: deps.gateScope, waitUntil: deps.waitUntil },
    adapter,
    deps.config,
  )
  const withNote = (loaded: Loaded): Loaded => (gate?.note ? { ...loaded, gate: gate.note } : loaded)
  try {
    if (!gate?.singleFlight) return withNote(await loadHere(deps, adapter, key, gate))
    const { loaded, joined } = await gate.join(key.cacheKey, since, () => loadHere(deps, adapter, key, gate))
    return withNote(joined ? { ...loaded, joined } : loaded)
  } catch (err) {
    if (gate?.note && err instanceof ApiError) err.headers['server-timing'] = `gate;desc="${gate.note}"`
    throw err
  }
}

/** One upstream call, turned into a cache entry: the record with its freshness, or a "no such asset". */
async function loadHere(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey, gate: GateSession | undefined): Promise<Loaded> {
  const storedAt = Date.now()
  try {
    const fetched = await fetchRecord(adapter, key, gate ? { ...deps.upstream, gate } : deps.upstream, deps.config)
    const facts = adapter.facts(fetched.record)
    const entry: CacheEntry = {
      v: 1,
      kind: 'record',
      body: fetched.body,
      contentType: fetched.contentType,
      etag: await strongEtag(fetched.body),
      state: facts.state,
      storedAt,
      ...recordWindows(deps.config, adapter.name, facts, storedAt),
    }
    parsed.set(entry, fetched.record)
    if (facts.state === 'processing' && adapter.recheckWhilePending && !key.uncached) deps.waitUntil(notePending(deps.upstream, key))
    return { entry, headers: fetched.headers }
  } catch (err) {
    if (!(err instanceof ApiError) || err.code !== 'asset_not_found') throw err
    const answer = err.answer && providerText(err.answer)
    const entry = answer
      ? await notFoundEntry(deps.config, answer.body, storedAt, { status: err.answer?.status ?? 404, contentType: answer.contentType })
      : await notFoundEntry(deps.config, JSON.stringify(err.extras), storedAt)
    // The provider's rate-limit and request-id headers go with this answer, not with the cached copy.
    return { entry, headers: err.answer?.headers ?? {} }
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A provider's error answer as text, when its bytes are UTF-8 (what a cache entry can hold exactly). */
function providerText(answer: ProviderAnswer): { body: string; contentType: string } | undefined {
  try {
    return { body: strictUtf8.decode(answer.body), contentType: answer.contentType ?? 'application/octet-stream' }
  } catch {
    return undefined
  }
}

/**
 * A "no such asset" entry, fresh for the not-found window: `body` is the provider's own answer
 * (with its `status` and `contentType`), or problem extras as JSON when no provider answer stands
 * behind it (an event said the asset is gone).
 */
export async function notFoundEntry(
  config: Config,
  body: string,
  storedAt = Date.now(),
  provider?: { status: number; contentType: string },
): Promise<CacheEntry> {
  return {
    v: 1,
    kind: 'not_found',
    body,
    ...(provider ? { status: provider.status, contentType: provider.contentType } : {}),
    etag: await strongEtag(body),
    state: 'not_found',
    storedAt,
    ...notFoundWindows(config, storedAt),
  }
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
  if (key.uncached) return uncachedLookup(deps, adapter, key, directives)
  const since = Date.now() // an answer another isolate got since now is as good as a call of our own
  try {
    return await deps.cache.get(key.cacheKey, () => load(deps, adapter, key, since), directives, awaitWrites)
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

/**
 * A lookup whose query holds a value outside the provider's documented set: one upstream call,
 * answered and forgotten. No tier is read or written and no call is shared, so inventing values
 * buys no cache entries, KV writes or coalesced calls (the pacer still counts the call).
 */
async function uncachedLookup(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey, directives: Directives): Promise<CacheOutcome> {
  const uncached = cacheStatusOf({ kind: 'uncached' })
  if (directives.onlyIfCached) {
    throw new ApiError('not_cached', 'This query is never cached (a value outside the documented set), and the request said only-if-cached.', {
      headers: { 'cache-status': uncached },
    })
  }
  const start = performance.now()
  try {
    const loaded = await load(deps, adapter, key, Date.now())
    return { ...loaded, served: { kind: 'uncached' }, timings: { upstream: performance.now() - start } }
  } catch (err) {
    if (err instanceof ApiError) err.headers['cache-status'] = uncached
    throw err
  }
}

/**
 * The 404 a cached "no such asset" answers with: problem+json (redirect links, the gateway's own
 * routes), carrying the provider's own answer for mirror routes to replay when the entry holds one.
 */
export function notFoundError(adapter: ProviderAdapter, outcome: CacheOutcome): ApiError {
  const { entry } = outcome
  let extras: Record<string, unknown> = {}
  let answer: ProviderAnswer | undefined
  if (entry.contentType !== undefined) {
    extras = { upstream_status: entry.status ?? 404 }
    try {
      const traceId = adapter.traceId?.(JSON.parse(entry.body))
      if (traceId) extras.upstream_trace_id = traceId
    } catch {
      // not JSON: no trace id to quote
    }
    answer = { status: entry.status ?? 404, body: encoder.encode(entry.body), contentType: entry.contentType, headers: outcome.headers }
  } else {
    try {
      extras = JSON.parse(entry.body) as Record<string, unknown>
    } catch {
      // an entry from an older version: answer without upstream details
    }
  }
  return new ApiError('asset_not_found', `${adapter.name} has no such asset, or it is not visible to the gateway's credentials.`, {
    extras,
    headers: { 'cache-status': cacheStatusOf(outcome.served, entry) },
    ...(answer ? { answer } : {}),
  })
}

const encoder = new TextEncoder()

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
