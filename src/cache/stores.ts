import { type CacheEntry, isCacheEntry } from './entry'

/** One shared place an entry can live; reads and writes never throw (a failing store is a miss). */
export type Store = {
  readonly name: 'edge' | 'kv'
  get(key: string): Promise<CacheEntry | undefined>
  /** `keepS`: keep the copy at least this long even when it is no longer usable (KV only: a comparison base). */
  put(key: string, entry: CacheEntry, now: number, keepS?: number): Promise<void>
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

const EDGE_ORIGIN = 'https://asset-edge.cache/'

/** The Cache API: this data centre's copy, kept at most `edgeMaxS`, tagged for purge by asset. */
export function edgeStore(open: () => Promise<Cache> | Cache, namespace: string, edgeMaxS: number, timeoutMs: number, tags: (key: string) => string[]): Store {
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
export function kvStore(kv: KVNamespace, timeoutMs: number): Store {
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
    put: (key, entry, now, keepS = 0) =>
      bounded(
        async () => {
          const ttlS = Math.max(KV_MIN_TTL_S, Math.ceil((entry.staleIfErrorUntil - now) / 1000), keepS)
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
