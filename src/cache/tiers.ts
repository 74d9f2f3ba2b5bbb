import { LRUCache } from 'lru-cache'
import { type CacheEntry, entrySize, isCacheEntry } from './entry'

/** One place an entry can live; reads and writes never throw (a failing tier is a miss). */
export type Tier = {
  readonly name: 'memory' | 'edge' | 'kv'
  get(key: string): Promise<CacheEntry | undefined>
  put(key: string, entry: CacheEntry, now: number): Promise<void>
  delete(key: string): Promise<void>
  /** Keys held that start with `prefix`, where the tier can list them. */
  keys?(prefix: string): Promise<string[]>
}

/** Resolves to `fallback` when `work` throws or has not settled within `ms`. */
export async function bounded<T>(work: () => Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      work().catch(() => fallback),
      new Promise<T>((resolve) => {
        timer = setTimeout(() => resolve(fallback), ms)
      }),
    ])
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

export type MemoryLimits = { maxEntries: number; maxBytes: number; ttlS: number }

type MemorySlot = { entry: CacheEntry; until: number }

/** The isolate's own bounded LRU (entries and bytes); an entry lives here `ttlS` at most. */
export class MemoryTier {
  readonly name = 'memory' as const
  private readonly lru: LRUCache<string, MemorySlot>

  constructor(readonly limits: MemoryLimits) {
    this.lru = new LRUCache<string, MemorySlot>({
      max: Math.max(1, limits.maxEntries),
      maxSize: Math.max(1, limits.maxBytes),
      sizeCalculation: (slot) => entrySize(slot.entry),
    })
  }

  /** The entry, synchronously: the hit path does no I/O and awaits nothing. */
  peek(key: string, now: number): CacheEntry | undefined {
    const slot = this.lru.get(key)
    if (!slot) return undefined
    if (slot.until <= now) {
      this.lru.delete(key)
      return undefined
    }
    return slot.entry
  }

  set(key: string, entry: CacheEntry, now: number): void {
    const until = Math.min(now + this.limits.ttlS * 1000, entry.staleIfErrorUntil)
    if (until <= now || entrySize(entry) > this.limits.maxBytes) return
    this.lru.set(key, { entry, until })
  }

  delete(key: string): void {
    this.lru.delete(key)
  }

  /** Every key held, for purging all query variants of one asset. */
  keys(): string[] {
    return [...this.lru.keys()]
  }

  clear(): void {
    this.lru.clear()
  }

  get stats() {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.limits.maxBytes, maxEntries: this.limits.maxEntries }
  }
}

const EDGE_ORIGIN = 'https://asset-edge.cache/'

/** The Cache API: this data centre's copy, kept at most `edgeMaxS`, tagged for purge by asset. */
export function edgeTier(open: () => Promise<Cache> | Cache, namespace: string, edgeMaxS: number, timeoutMs: number, tags: (key: string) => string[]): Tier {
  const url = (key: string) => new URL(`${namespace}/${key}`, EDGE_ORIGIN).toString()
  return {
    name: 'edge',
    get: (key) =>
      bounded(
        async () => {
          const response = await (await open()).match(url(key))
          const value: unknown = response ? await response.json() : undefined
          return isCacheEntry(value) ? value : undefined
        },
        timeoutMs,
        undefined,
      ),
    put: (key, entry, now) =>
      bounded(
        async () => {
          const ttlS = Math.min(edgeMaxS, Math.floor((entry.staleIfErrorUntil - now) / 1000))
          if (ttlS <= 0) return
          const headers = { 'content-type': 'application/json', 'cache-control': `max-age=${ttlS}`, 'cache-tag': tags(key).join(',') }
          await (await open()).put(url(key), new Response(JSON.stringify(entry), { headers }))
        },
        timeoutMs,
        undefined,
      ),
    delete: (key) =>
      bounded(
        async () => {
          await (await open()).delete(url(key))
        },
        timeoutMs,
        undefined,
      ),
  }
}

export const KV_CACHE_PREFIX = 'cache:'
const KV_MIN_TTL_S = 60 // KV refuses shorter expirations

/** Workers KV: the worldwide copy, expiring with the entry's last usable instant. */
export function kvTier(kv: KVNamespace, timeoutMs: number): Tier {
  return {
    name: 'kv',
    get: (key) =>
      bounded(
        async () => {
          const value: unknown = await kv.get(KV_CACHE_PREFIX + key, 'json')
          return isCacheEntry(value) ? value : undefined
        },
        timeoutMs,
        undefined,
      ),
    put: (key, entry, now) =>
      bounded(
        async () => {
          const ttlS = Math.max(KV_MIN_TTL_S, Math.ceil((entry.staleIfErrorUntil - now) / 1000))
          await kv.put(KV_CACHE_PREFIX + key, JSON.stringify(entry), { expirationTtl: ttlS })
        },
        timeoutMs,
        undefined,
      ),
    delete: (key) => bounded(() => kv.delete(KV_CACHE_PREFIX + key), timeoutMs, undefined),
    keys: (prefix) =>
      bounded(
        async () => {
          const names: string[] = []
          let cursor: string | undefined
          do {
            const page: KVNamespaceListResult<unknown> = await kv.list({ prefix: KV_CACHE_PREFIX + prefix, ...(cursor ? { cursor } : {}) })
            names.push(...page.keys.map((k) => k.name.slice(KV_CACHE_PREFIX.length)))
            cursor = page.list_complete ? undefined : page.cursor
          } while (cursor)
          return names
        },
        timeoutMs * 4,
        [] as string[],
      ),
  }
}
