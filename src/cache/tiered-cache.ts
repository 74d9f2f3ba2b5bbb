import type { Coalescer, Loaded } from './coalescing'
import type { Directives } from './directives'
import type { CacheEntry } from './entry'
import type { MemoryTier } from './memory-tier'
import type { Store } from './stores'

export type { Loaded }

/** How a lookup was served: a tier's fresh copy, the provider's answer, or a stale copy. */
export type Served =
  | { kind: 'hit'; tier: 'memory' | Store['name'] }
  | { kind: 'fetched'; fwd: Forward }
  | { kind: 'revalidating' }
  | { kind: 'stale-if-error'; fwd: Forward; status: number }
  | { kind: 'uncached' }

/** Why the provider was asked (RFC 9211 `fwd`): nothing usable, a stale copy, or the client's `no-cache`. */
export type Forward = 'miss' | 'stale' | 'request' | 'bypass'

/** Milliseconds spent in each tier and upstream. */
export type Timings = Readonly<Partial<Record<'memory' | Store['name'] | 'upstream', number>>>

/** How a lookup was answered: the entry, pass-through headers, how it was served and the time spent. */
export type CacheOutcome = Loaded & { served: Served; timings: Timings }

/** `only-if-cached` found nothing usable. */
export class NotCachedError extends Error {}

/** The provider call failed and no stale copy could stand in; `cause` is the loader's error. */
export class LoadFailedError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly fwd: Forward,
  ) {
    super('load failed', { cause })
  }
}

export type TieredCacheDeps = {
  memory: MemoryTier | undefined
  /** Shared stores after memory, nearest first (Cache API, then KV). KV is the last. */
  stores: readonly [edge: Store, kv: Store]
  coalescer: Coalescer
  waitUntil: (promise: Promise<unknown>) => void
  /** The status of a failure a stale copy may stand in for (429, 5xx), or undefined. */
  staleStatus: (err: unknown) => number | undefined
  /** Told when a refresh replaces the KV copy of `key` with an entry of another ETag (never rejects). */
  onChange?: (key: string, previous: CacheEntry, next: CacheEntry) => Promise<void>
}

/**
 * How long a miss's Cache API and KV writes wait after its answer. On the next turn of the event
 * loop (0 ms) their first steps still ran while the answer was on its way out through the runtime
 * (under `wrangler dev` its router and dev proxy live on the same thread): a miss cost 4.6 ms over a
 * bare proxy Worker in `npm run bench -- --only miss`, against 1.8 and 2.2 ms with 10 ms. Until the
 * writes land the entry is in memory and in the coalescer's `landing` map, where lookups find it.
 */
export const SHARED_WRITE_DELAY_MS = 10

/** Resolves once the answer that started a write has had time to leave (`SHARED_WRITE_DELAY_MS`). */
const afterAnswer = () => new Promise<void>((resolve) => setTimeout(resolve, SHARED_WRITE_DELAY_MS))

const MEMORY_HIT_TIMINGS: Timings = Object.freeze({ memory: 0 })

/**
 * The synchronous hit path: a fresh entry in isolate memory, or undefined. Needs the memory tier
 * only, so a request answered from memory builds no `TieredCache`.
 */
export function memoryHit(memory: MemoryTier | undefined, key: string, now: number): CacheOutcome | undefined {
  const entry = memory?.peek(key, now)
  if (!entry || now >= entry.freshUntil) return undefined
  return { entry, headers: {}, served: { kind: 'hit', tier: 'memory' }, timings: MEMORY_HIT_TIMINGS }
}

/** The more recently stored of two candidates that may still be served stale. */
function newer(a: CacheEntry | undefined, b: CacheEntry | undefined, now: number): CacheEntry | undefined {
  const usable = (e: CacheEntry | undefined) => (e && e.kind === 'record' && now < e.staleIfErrorUntil ? e : undefined)
  const [x, y] = [usable(a), usable(b)]
  if (!x) return y
  if (!y) return x
  return y.storedAt > x.storedAt ? y : x
}

/**
 * Memory → Cache API → KV → provider, with per-entry freshness, stale-while-revalidate,
 * stale-if-error and request coalescing (see `Coalescer`). Stores never fail a lookup: a broken
 * store is a miss. Knows entries and stores only: how an outcome is spoken over HTTP is the
 * caller's business.
 */
export class TieredCache {
  constructor(private readonly deps: TieredCacheDeps) {}

  /** The synchronous hit path: a fresh entry in isolate memory, or undefined. */
  memoryHit(key: string, now: number): CacheOutcome | undefined {
    return memoryHit(this.deps.memory, key, now)
  }

  /** `awaitWrites`: resolve only once the Cache API and KV copies are written (events, cron). */
  async get(key: string, load: () => Promise<Loaded>, directives: Directives, awaitWrites = false): Promise<CacheOutcome> {
    const now = Date.now()
    const timings: Record<string, number> = {}
    const { memory, stores } = this.deps
    const kv = stores[stores.length - 1] as Store
    let stale: CacheEntry | undefined
    let kvSeen: Promise<CacheEntry | undefined> | undefined

    if (!directives.revalidate) {
      const hit = this.memoryHit(key, now)
      if (hit) return hit
      stale = newer(undefined, memory?.peek(key, now), now)
      // One store after the other: an edge hit spends no KV read (KV reads are billed, and the
      // benchmark's Cache API row lost a third of its throughput when both were read together).
      for (const [index, store] of stores.entries()) {
        const start = performance.now()
        const found = await store.get(key)
        timings[store.name] = performance.now() - start
        if (store === kv) kvSeen = Promise.resolve(found)
        if (found && now < found.freshUntil) {
          memory?.set(key, found, now)
          // Copy into the nearer stores that missed it.
          for (const nearer of stores.slice(0, index)) this.deps.waitUntil(nearer.put(key, found, now))
          return { entry: found, headers: {}, served: { kind: 'hit', tier: store.name }, timings }
        }
        stale = newer(stale, found, now)
      }
      if (stale && now < stale.staleUntil) {
        void this.refresh(key, load, kvSeen ?? kv.get(key)) // in waitUntil already: refresh keeps every call it starts alive
        return { entry: stale, headers: {}, served: { kind: 'revalidating' }, timings }
      }
      if (directives.onlyIfCached) throw new NotCachedError()
    }

    const fwd: Forward = directives.revalidate ? 'request' : stale ? 'stale' : 'miss'
    const start = performance.now()
    try {
      // A revalidation reads KV only to decide whether KV needs writing afterwards.
      const loaded = await this.refresh(key, load, kvSeen ?? kv.get(key), awaitWrites, directives.revalidate)
      timings.upstream = performance.now() - start
      return { ...loaded, served: { kind: 'fetched', fwd }, timings }
    } catch (err) {
      timings.upstream = performance.now() - start
      const status = this.deps.staleStatus(err)
      if (stale && status !== undefined && Date.now() < stale.staleIfErrorUntil) {
        return { entry: stale, headers: {}, served: { kind: 'stale-if-error', fwd, status }, timings }
      }
      throw new LoadFailedError(err, fwd)
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
    const { inflight, landing } = this.deps.coalescer
    const landed = revalidate ? undefined : landing.get(key)
    if (landed) return Promise.resolve(landed)
    const joined = inflight.get(key)
    if (joined) return joined
    const generation = this.deps.coalescer.generation(key)
    const running: Promise<Loaded> = load()
      .then(async (loaded) => {
        if (!this.deps.coalescer.isCurrent(key, generation)) return loaded // invalidated meanwhile: keep nothing
        landing.set(key, loaded)
        const { entry } = loaded
        const keep = entry.staleIfErrorUntil > entry.storedAt // media URLs about to expire: serve, don't keep
        if (keep) this.deps.memory?.set(key, entry, entry.storedAt)
        const writes = (keep ? this.storeShared(key, entry, kvSeen, loaded.joined, awaitWrites) : Promise.resolve()).finally(() => {
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
   * The Cache API and KV copies of a loaded entry: now when the caller waits for them, else once the
   * answer has gone out. Started at once, their first steps (serialising the entry, local Cache API
   * and KV work under wrangler dev) ran before the client got its answer, about 9 ms of a miss in
   * `npm run bench`. Until they are written the entry is in `landing`, where a lookup finds it.
   */
  private storeShared(key: string, entry: CacheEntry, kvSeen: Promise<CacheEntry | undefined>, joined: boolean | undefined, awaited: boolean): Promise<void> {
    return awaited ? this.store(key, entry, kvSeen, joined) : afterAnswer().then(() => this.store(key, entry, kvSeen, joined))
  }

  /**
   * The Cache API and KV copies of a loaded entry (memory has it already). KV (about one write per
   * second per key) is written only when the content changed or its copy's freshness ran out, and
   * not-found answers stay out of KV so scans of random ids cost no writes. A `joined` entry's KV
   * copy is its leader's.
   */
  async store(key: string, entry: CacheEntry, kvSeen: Promise<CacheEntry | undefined>, joined = false): Promise<void> {
    const now = entry.storedAt
    const seen = await kvSeen
    // A joined call's KV copy is the leader's to write: written once, whatever the number of joiners.
    const kvWrite = !joined && entry.kind === 'record' && (!seen || seen.etag !== entry.etag || seen.freshUntil <= now)
    const [edge, kv] = this.deps.stores
    const changed = seen && seen.etag !== entry.etag ? this.deps.onChange?.(key, seen, entry) : undefined
    await Promise.all([edge.put(key, entry, now), kvWrite ? kv.put(key, entry, now) : undefined, changed])
  }

  /** Writes an entry to every tier now (KV included, whatever its kind): what an event says is true. */
  async remember(key: string, entry: CacheEntry): Promise<void> {
    this.deps.memory?.set(key, entry, entry.storedAt)
    await Promise.all(this.deps.stores.map((store) => store.put(key, entry, entry.storedAt)))
  }

  /**
   * Removes every cached variant of one asset (`asset` is its key without a query: all include
   * sets, all query flags) from this isolate's memory, this data centre's Cache API and KV.
   * Returns the keys removed.
   *
   * `keep`: the asset's KV copy (as read before), which stays in KV **demoted** instead of being
   * deleted: never served fresh or stale-while-revalidate again, but still the copy the next
   * refresh compares with (`onChange`), whoever makes it, so a change an event announced is not
   * lost when the event's own re-fetch fails (docs/events.md). Kept at least `keepS`.
   */
  async invalidateAsset(asset: string, keep?: { entry: CacheEntry; keepS: number }): Promise<string[]> {
    const ofAsset = (key: string) => key === asset || key.startsWith(`${asset}?`)
    const keys = new Set([asset, ...(this.deps.memory?.keys() ?? []).filter(ofAsset), ...this.deps.coalescer.invalidate(asset)])
    for (const store of this.deps.stores) for (const key of (await store.keys?.(asset)) ?? []) if (ofAsset(key)) keys.add(key)
    for (const key of keys) this.deps.memory?.delete(key)
    const [, kv] = this.deps.stores
    await Promise.all(
      [...keys].flatMap((key) =>
        this.deps.stores.map((store) =>
          keep && store === kv && key === asset ? store.put(key, demoted(keep.entry), Date.now(), keep.keepS) : store.delete(key),
        ),
      ),
    )
    return [...keys]
  }
}

/** A copy that is never served fresh nor while revalidating, but may still be compared with (and stand in on errors). */
export function demoted(entry: CacheEntry): CacheEntry {
  return { ...entry, freshUntil: 0, staleUntil: 0 }
}
