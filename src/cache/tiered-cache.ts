import { ApiError } from '../http/problem'
import type { Directives } from './directives'
import type { CacheEntry } from './entry'
import { assetTag } from './keys'
import type { MemoryTier, Tier } from './tiers'

/** An entry fetched from the provider, with the headers to pass through on this answer. */
export type Loaded = { entry: CacheEntry; headers: Record<string, string> }

/** How a lookup was answered: the entry, its RFC 9211 `Cache-Status`, and `Server-Timing` parts. */
export type CacheOutcome = Loaded & { cacheStatus: string; timings: string[] }

/** Upstream failures a stale copy may stand in for (the provider's "no such asset" is not one). */
const STALE_IF_ERROR_STATUSES = new Set([429, 502, 503, 504])
const NAME = 'asset-edge'

/** Refreshes in flight in this isolate, per key: concurrent misses and refreshes join one upstream call. */
const inflight = new Map<string, Promise<Loaded>>()
/**
 * Answers whose Cache API and KV copies are still being written, per key. A plain value, not the
 * refresh's promise: workerd cancels a request left waiting on a promise settled by another request.
 */
const landing = new Map<string, Loaded>()
/**
 * Per asset (its key without a query), the count of the last invalidation in this isolate: a
 * refresh that began before an invalidation answers its callers but stores nothing, so it cannot
 * write the old state back over what the event brought.
 */
const generations = new Map<string, number>()
let invalidations = 0

export type TieredCacheDeps = {
  memory: MemoryTier | undefined
  edge: Tier
  kv: Tier
  waitUntil: (promise: Promise<unknown>) => void
}

function ttlS(entry: CacheEntry, now: number): number {
  return Math.max(0, Math.floor((entry.freshUntil - now) / 1000))
}

/** The more recently stored of two candidates that may still be served stale. */
function newer(a: CacheEntry | undefined, b: CacheEntry | undefined, now: number): CacheEntry | undefined {
  const usable = (e: CacheEntry | undefined) => (e && e.kind === 'record' && now < e.staleIfErrorUntil ? e : undefined)
  const [x, y] = [usable(a), usable(b)]
  if (!x) return y
  if (!y) return x
  return y.storedAt > x.storedAt ? y : x
}

async function timed<T>(timings: string[], name: string, work: Promise<T>): Promise<T> {
  const start = performance.now()
  try {
    return await work
  } finally {
    timings.push(`${name};dur=${(performance.now() - start).toFixed(1)}`)
  }
}

/**
 * Memory → Cache API → KV → provider, with per-entry freshness, stale-while-revalidate,
 * stale-if-error and request coalescing. Tiers never fail a lookup: a broken tier is a miss.
 */
export class TieredCache {
  constructor(private readonly deps: TieredCacheDeps) {}

  /** The synchronous hit path: a fresh entry in isolate memory, or undefined. */
  memoryHit(key: string, now: number): CacheOutcome | undefined {
    const entry = this.deps.memory?.peek(key, now)
    if (!entry || now >= entry.freshUntil) return undefined
    return { entry, headers: {}, cacheStatus: `${NAME}; hit; detail=memory; ttl=${ttlS(entry, now)}`, timings: ['memory;dur=0'] }
  }

  /** `awaitWrites`: resolve only once the Cache API and KV copies are written (events, cron). */
  async get(key: string, load: () => Promise<Loaded>, directives: Directives, awaitWrites = false): Promise<CacheOutcome> {
    const now = Date.now()
    const timings: string[] = []
    const { memory, edge, kv } = this.deps
    let stale: CacheEntry | undefined
    let kvSeen: Promise<CacheEntry | undefined>

    if (directives.revalidate) {
      kvSeen = kv.get(key) // only to decide whether KV needs writing afterwards
    } else {
      const hit = this.memoryHit(key, now)
      if (hit) return hit
      stale = newer(undefined, memory?.peek(key, now), now)

      const fromEdge = await timed(timings, 'edge', edge.get(key))
      if (fromEdge && now < fromEdge.freshUntil) {
        memory?.set(key, fromEdge, now)
        return { entry: fromEdge, headers: {}, cacheStatus: `${NAME}; hit; detail=edge; ttl=${ttlS(fromEdge, now)}`, timings }
      }
      stale = newer(stale, fromEdge, now)

      const fromKv = await timed(timings, 'kv', kv.get(key))
      kvSeen = Promise.resolve(fromKv)
      if (fromKv && now < fromKv.freshUntil) {
        memory?.set(key, fromKv, now)
        this.deps.waitUntil(edge.put(key, fromKv, now))
        return { entry: fromKv, headers: {}, cacheStatus: `${NAME}; hit; detail=kv; ttl=${ttlS(fromKv, now)}`, timings }
      }
      stale = newer(stale, fromKv, now)

      if (stale && now < stale.staleUntil) {
        void this.refresh(key, load, kvSeen) // in waitUntil already: refresh keeps every call it starts alive
        return { entry: stale, headers: {}, cacheStatus: `${NAME}; fwd=stale; detail=revalidating`, timings }
      }
      if (directives.onlyIfCached) {
        throw new ApiError(504, 'not_cached', 'Nothing usable is cached for this asset, and the request said only-if-cached.', {
          headers: { 'cache-status': `${NAME}; fwd=miss; detail=only-if-cached` },
        })
      }
    }

    const fwd = directives.revalidate ? 'request' : stale ? 'stale' : 'miss'
    try {
      const loaded = await timed(timings, 'upstream', this.refresh(key, load, kvSeen, awaitWrites, directives.revalidate))
      return { ...loaded, cacheStatus: `${NAME}; fwd=${fwd}; stored`, timings }
    } catch (err) {
      if (stale && err instanceof ApiError && STALE_IF_ERROR_STATUSES.has(err.status) && Date.now() < stale.staleIfErrorUntil) {
        return { entry: stale, headers: {}, cacheStatus: `${NAME}; fwd=${fwd}; fwd-status=${err.status}; detail=stale-if-error`, timings }
      }
      if (err instanceof ApiError) err.headers['cache-status'] = `${NAME}; fwd=${fwd}; fwd-status=${err.status}`
      throw err
    }
  }

  /**
   * One upstream call per key at a time in this isolate; stores what it gets in every tier. Its
   * answer stays at hand until the copies are written: with the memory tier off, a lookup arriving
   * between the answer and the Cache API write would otherwise find no copy and call again. A
   * revalidation (`revalidate`) joins only a call still waiting for the provider, never an answer
   * already in: it asked for the provider's word from after it arrived.
   */
  refresh(key: string, load: () => Promise<Loaded>, kvSeen: Promise<CacheEntry | undefined>, awaitWrites = false, revalidate = false): Promise<Loaded> {
    const landed = revalidate ? undefined : landing.get(key)
    if (landed) return Promise.resolve(landed)
    const joined = inflight.get(key)
    if (joined) return joined
    const asset = assetTag(key)
    const generation = generations.get(asset)
    const running: Promise<Loaded> = load()
      .then(async (loaded) => {
        if (generations.get(asset) !== generation) return loaded // invalidated meanwhile: keep nothing
        landing.set(key, loaded)
        const writes = this.store(key, loaded.entry, kvSeen).finally(() => {
          if (landing.get(key) === loaded) landing.delete(key)
        })
        if (awaitWrites) await writes
        else this.deps.waitUntil(writes)
        return loaded
      })
      .finally(() => {
        // An invalidation may have replaced this call with a newer one: leave that one joinable.
        if (inflight.get(key) === running) inflight.delete(key)
      })
    inflight.set(key, running)
    // Other requests may be waiting on this call: it must finish even if this client goes away.
    this.deps.waitUntil(running.catch(() => {}))
    return running
  }

  /**
   * Memory now; Cache API and KV after the answer. KV (about one write per second per key) is
   * written only when the content changed or its copy's freshness ran out, and not-found answers
   * stay out of KV so scans of random ids cost no writes.
   */
  async store(key: string, entry: CacheEntry, kvSeen: Promise<CacheEntry | undefined>): Promise<void> {
    const now = entry.storedAt
    if (entry.staleIfErrorUntil <= now) return // its media URLs are about to expire: serve, don't keep
    this.deps.memory?.set(key, entry, now)
    const seen = await kvSeen
    const kvWrite = entry.kind === 'record' && (!seen || seen.etag !== entry.etag || seen.freshUntil <= now)
    await Promise.all([this.deps.edge.put(key, entry, now), kvWrite ? this.deps.kv.put(key, entry, now) : undefined])
  }

  /** Writes an entry to every tier now (KV included, whatever its kind): what an event says is true. */
  async remember(key: string, entry: CacheEntry): Promise<void> {
    this.deps.memory?.set(key, entry, entry.storedAt)
    await Promise.all([this.deps.edge.put(key, entry, entry.storedAt), this.deps.kv.put(key, entry, entry.storedAt)])
  }

  /**
   * Removes every cached variant of one asset (`base` is its key without a query: all include
   * sets, all query flags) from this isolate's memory, this data centre's Cache API and KV.
   * Returns the keys removed.
   */
  async invalidateAsset(base: string): Promise<string[]> {
    const ofAsset = (key: string) => assetTag(key) === base
    if (generations.size >= 10_000) generations.clear() // a refresh from before the clear then stores nothing: safe
    generations.set(base, ++invalidations)
    const keys = new Set([base, ...(this.deps.memory?.keys() ?? []).filter(ofAsset), ...[...inflight.keys(), ...landing.keys()].filter(ofAsset)])
    for (const key of (await this.deps.kv.keys?.(base)) ?? []) if (ofAsset(key)) keys.add(key)
    for (const key of keys) {
      this.deps.memory?.delete(key)
      inflight.delete(key) // a refresh already running must not be joined: it may carry the old state
      landing.delete(key)
    }
    await Promise.all([...keys].flatMap((key) => [this.deps.edge.delete(key), this.deps.kv.delete(key)]))
    return [...keys]
  }
}

/** Drops every in-flight refresh record (tests). */
export function resetInflight(): void {
  inflight.clear()
  landing.clear()
  generations.clear()
}
