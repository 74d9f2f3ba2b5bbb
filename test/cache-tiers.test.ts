import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Coalescer } from '../src/cache/coalescing'
import { NO_DIRECTIVES } from '../src/cache/directives'
import type { CacheEntry } from '../src/cache/entry'
import { MemoryTier } from '../src/cache/memory-tier'
import type { Store } from '../src/cache/stores'
import { type Loaded, SHARED_WRITE_DELAY_MS, TieredCache } from '../src/cache/tiered-cache'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import {
  call,
  callApp,
  createKey,
  currentIsolate,
  fakeSync,
  forgetEdgeEntries,
  freshIsolate,
  resetState,
  sandboxStats,
  syncRecord,
  UPSTREAM,
  worldWorker,
} from './helpers'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

const FRAMEIO = `/frameio/v2/assets/${SAMPLE.image}`
const status = (r: Response) => r.headers.get('cache-status') ?? ''

describe('tiers', () => {
  it('answers a repeat from isolate memory, then the Cache API, then KV, calling the provider once', async () => {
    const first = await call(FRAMEIO)
    expect(status(first)).toBe('asset-edge; fwd=miss; stored')
    expect(status(await call(FRAMEIO))).toMatch(/^asset-edge; hit; detail=memory; ttl=(29\d|300)$/)

    freshIsolate() // another isolate in this data centre
    expect(status(await call(FRAMEIO))).toMatch(/^asset-edge; hit; detail=edge; ttl=/)

    freshIsolate()
    forgetEdgeEntries() // another data centre
    const fromKv = await call(FRAMEIO)
    expect(status(fromKv)).toMatch(/^asset-edge; hit; detail=kv; ttl=/)
    expect(fromKv.headers.get('server-timing')).toMatch(/edge;dur=[\d.]+, kv;dur=[\d.]+/)
    expect(status(await call(FRAMEIO))).toMatch(/detail=memory/) // promoted
    expect(sandboxStats.calls('frameio')).toBe(1)
  })

  it('serves identical bodies from every tier', async () => {
    const bodies = [await (await call(FRAMEIO)).text()]
    bodies.push(await (await call(FRAMEIO)).text())
    freshIsolate()
    bodies.push(await (await call(FRAMEIO)).text())
    expect(new Set(bodies).size).toBe(1)
  })

  it('keys on the normalised query: equal Gumnut include sets share one entry', async () => {
    const base = `/gumnut/api/assets/${GUMNUT_SAMPLE.image}`
    await call(`${base}?include=faces,metadata`)
    await call(`${base}?include=metadata&include=faces,faces`)
    await call(`${base}?include=metadata,faces`)
    expect(sandboxStats.calls('gumnut')).toBe(1)
    await call(`${base}?include=faces`)
    await call(base)
    expect(sandboxStats.calls('gumnut')).toBe(3)
  })

  it('keys on Frame.io include_deleted and type', async () => {
    await call(FRAMEIO)
    await call(`${FRAMEIO}?include_deleted=false`)
    await call(`${FRAMEIO}?include_deleted=true`)
    await call(`${FRAMEIO}?type=file`)
    expect(sandboxStats.calls('frameio')).toBe(4)
  })

  it('checks scope before the cache: a key without the scope never reads cached entries', async () => {
    await call(FRAMEIO)
    const key = await createKey({ providers: ['sync'] })
    const response = await call(FRAMEIO, { key })
    expect(response.status).toBe(403)
    expect(response.headers.get('cache-status')).toBeNull()
  })
})

describe('reading the shared tiers', () => {
  const now = Date.now()
  const record: CacheEntry = {
    v: 1,
    kind: 'record',
    body: '{"id":"x"}',
    etag: '"x"',
    state: 'ready',
    storedAt: now,
    freshUntil: now + 60_000,
    staleUntil: now + 120_000,
    staleIfErrorUntil: now + 180_000,
  }
  /** A tier whose reads wait until `answer` is called, recording when each read started. */
  const slowTier = (name: 'edge' | 'kv', held: CacheEntry | undefined, started: string[]) => {
    let answer: () => void = () => {}
    const answered = new Promise<void>((r) => (answer = r))
    const store: Store = {
      name,
      get: async () => {
        started.push(name)
        await answered
        return held
      },
      put: async () => {},
      delete: async () => {},
    }
    return { store, answer }
  }
  const cacheOver = (edge: Store, kv: Store) =>
    new TieredCache({ memory: undefined, stores: [edge, kv], coalescer: new Coalescer(), waitUntil: () => {}, staleStatus: () => undefined })

  it('asks KV only once the Cache API has missed, so an edge hit spends no KV read', async () => {
    const started: string[] = []
    const [edge, kv] = [slowTier('edge', undefined, started), slowTier('kv', undefined, started)]
    const loaded = cacheOver(edge.store, kv.store).get('k', async () => ({ entry: record, headers: {} }), NO_DIRECTIVES)
    await new Promise((r) => setTimeout(r, 0))
    expect(started).toEqual(['edge']) // KV waits for the Cache API's answer
    edge.answer()
    await new Promise((r) => setTimeout(r, 0))
    expect(started).toEqual(['edge', 'kv'])
    kv.answer()
    expect((await loaded).served).toEqual({ kind: 'fetched', fwd: 'miss' })
  })

  it('answers a Cache API hit from the Cache API without waiting for KV', async () => {
    const started: string[] = []
    const [edge, kv] = [slowTier('edge', record, started), slowTier('kv', undefined, started)]
    const loaded = cacheOver(edge.store, kv.store).get('k', async () => ({ entry: record, headers: {} }), NO_DIRECTIVES)
    edge.answer() // KV never answers
    const outcome = await loaded
    expect(started).toEqual(['edge'])
    expect(outcome.served).toEqual({ kind: 'hit', tier: 'edge' })
    expect(Object.keys(outcome.timings)).toEqual(['edge'])
  })
})

describe('degraded tiers', () => {
  const throwingKv = {
    get: () => Promise.reject(new Error('KV down')),
    put: () => Promise.reject(new Error('KV down')),
    delete: () => Promise.reject(new Error('KV down')),
    list: () => Promise.reject(new Error('KV down')),
  } as unknown as KVNamespace
  const stallingKv = {
    get: () => new Promise(() => {}),
    put: () => new Promise(() => {}),
    delete: () => new Promise(() => {}),
    list: () => new Promise(() => {}),
  } as unknown as KVNamespace
  const throwingCache = {
    match: () => Promise.reject(new Error('cache down')),
    put: () => Promise.reject(new Error('cache down')),
    delete: () => Promise.reject(new Error('x')),
  } as unknown as Cache
  const stallingCache = { match: () => new Promise(() => {}), put: () => new Promise(() => {}), delete: () => new Promise(() => {}) } as unknown as Cache

  it.each([
    ['KV throws', { ASSET_KV: throwingKv }, undefined],
    ['KV stalls', { ASSET_KV: stallingKv }, undefined],
    ['Cache API throws', {}, throwingCache],
    ['Cache API stalls', {}, stallingCache],
  ] as const)('%s: the lookup still answers from the provider, then from memory', async (_name, envPatch, cache) => {
    const { handler } = worldWorker(cache ? { openEdge: () => cache } : {})
    const patched = { ...env, ...envPatch, CACHE_TIER_TIMEOUT_MS: '40' }
    const ctx = createExecutionContext()
    const ask = () => handler.fetch(new Request(`https://gw.test${FRAMEIO}`, { headers: { authorization: 'Bearer ae_test_dev_key' } }), patched, ctx)
    const first = await ask()
    expect(first.status).toBe(200)
    expect(status(first)).toBe('asset-edge; fwd=miss; stored')
    const second = await ask()
    expect(second.status).toBe(200)
    expect(status(second)).toMatch(/detail=memory/)
    await waitOnExecutionContext(ctx)
  })
})

describe('memory bounds', () => {
  it('holds at most MEMORY_CACHE_MAX_ENTRIES entries', async () => {
    const bounded = { MEMORY_CACHE_MAX_ENTRIES: '2', MEMORY_CACHE_MAX_BYTES: '1000000' }
    for (const id of [SAMPLE.image, SAMPLE.video, SAMPLE.processing]) await callApp(`/frameio/v2/assets/${id}`, { env: bounded })
    expect(currentIsolate().memoryTier({ maxEntries: 2, maxBytes: 1_000_000, ttlS: 5 })?.stats.entries).toBe(2)
  })

  it('holds at most MEMORY_CACHE_MAX_BYTES bytes', async () => {
    const bounded = { MEMORY_CACHE_MAX_ENTRIES: '1000', MEMORY_CACHE_MAX_BYTES: '4000' }
    for (const id of [SAMPLE.image, SAMPLE.video, SAMPLE.processing, SAMPLE.audio]) {
      await callApp(`/frameio/v2/assets/${id}`, { env: bounded })
      await callApp(`/sync/v2/assets/${id}`, { env: bounded })
    }
    const stats = currentIsolate().memoryTier({ maxEntries: 1000, maxBytes: 4000, ttlS: 5 })?.stats
    expect(stats?.bytes).toBeLessThanOrEqual(4000)
    expect(stats?.entries).toBeGreaterThan(0)
  })

  it('MEMORY_CACHE_MAX_ENTRIES=0 turns the memory tier off', async () => {
    const off = { MEMORY_CACHE_MAX_ENTRIES: '0' }
    await callApp(FRAMEIO, { env: off })
    const { response } = await callApp(FRAMEIO, { env: off })
    expect(status(response)).toMatch(/detail=edge/)
  })

  it('lets a memory entry live MEMORY_TTL_S at most', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    await callApp(FRAMEIO)
    expect(status((await callApp(FRAMEIO)).response)).toMatch(/detail=memory/)
    vi.setSystemTime(Date.now() + 6_000)
    expect(status((await callApp(FRAMEIO)).response)).toMatch(/detail=edge/)
  })
})

describe('coalescing', () => {
  it('makes one upstream call for 200 concurrent cold lookups of one id', async () => {
    const upstream = fakeSync(async () => {
      await new Promise((r) => setTimeout(r, 50))
      return syncRecord(SAMPLE.video, 'one')
    })
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => callApp(`/sync/v2/assets/${SAMPLE.video}`, { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher })),
    )
    expect(responses.every(({ response }) => response.status === 200)).toBe(true)
    expect(upstream.state.calls).toBe(1)
  })

  it('with the memory tier off, a lookup between the answer and the tier writes joins the call', async () => {
    // The bench once counted 904 upstream calls for 903 ids here: the copy was not yet written.
    const upstream = fakeSync(() => syncRecord(SAMPLE.video, 'one'))
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => (release = r))
    const real = await caches.open('asset-edge-test-slow-put')
    const slowPut = {
      match: (req: RequestInfo) => real.match(req),
      put: async (req: RequestInfo, res: Response) => {
        await gate
        return real.put(req, res)
      },
      delete: (req: RequestInfo) => real.delete(req),
    } as unknown as Cache
    const { handler } = worldWorker({ openEdge: () => slowPut, fetch: upstream.fetcher })
    const kv = env.ASSET_KV
    const slowKv = {
      get: (...args: Parameters<KVNamespace['get']>) => kv.get(...args),
      put: async (...args: Parameters<KVNamespace['put']>) => {
        await gate
        return kv.put(...args)
      },
      delete: (key: string) => kv.delete(key),
      list: (...args: Parameters<KVNamespace['list']>) => kv.list(...args),
    } as unknown as KVNamespace
    const patched = { ...env, ASSET_KV: slowKv, SYNC_BASE_URL: UPSTREAM, MEMORY_CACHE_MAX_ENTRIES: '0', CACHE_TIER_TIMEOUT_MS: '5000' }
    const ctx = createExecutionContext()
    const ask = () =>
      handler.fetch(new Request(`https://gw.test/sync/v2/assets/${SAMPLE.video}`, { headers: { authorization: 'Bearer ae_test_dev_key' } }), patched, ctx)

    const first = await ask()
    expect(first.status).toBe(200)
    const second = await ask() // the Cache API and KV writes of the first are still held
    expect(second.status).toBe(200)
    expect(await second.text()).toBe(await first.text())
    expect(upstream.state.calls).toBe(1)

    release()
    await waitOnExecutionContext(ctx)
    expect(status(await ask())).toMatch(/detail=edge/) // and once written, the copy answers
    expect(upstream.state.calls).toBe(1)
  })

  it('a refresh that began before an invalidation answers its callers but stores nothing', async () => {
    // A client's miss is at the provider when a webhook drops the asset and re-fetches it; the
    // client's older answer lands last and must not overwrite what the event brought.
    const mapTier = (name: 'edge' | 'kv'): Store & { held: Map<string, CacheEntry> } => {
      const held = new Map<string, CacheEntry>()
      return {
        name,
        held,
        get: async (k) => held.get(k),
        put: async (k, e) => void held.set(k, e),
        delete: async (k) => void held.delete(k),
        keys: async (prefix) => [...held.keys()].filter((k) => k.startsWith(prefix)),
      }
    }
    const [edge, kv] = [mapTier('edge'), mapTier('kv')]
    const memory = new MemoryTier({ maxEntries: 10, maxBytes: 100_000, ttlS: 60 })
    const pending: Promise<unknown>[] = []
    const cache = new TieredCache({ memory, stores: [edge, kv], coalescer: new Coalescer(), waitUntil: (p) => pending.push(p), staleStatus: () => undefined })
    const now = Date.now()
    const entry = (body: string): Loaded => ({
      entry: {
        v: 1,
        kind: 'record',
        body,
        etag: `"${body}"`,
        state: 'ready',
        storedAt: now,
        freshUntil: now + 60_000,
        staleUntil: now + 120_000,
        staleIfErrorUntil: now + 180_000,
      },
      headers: {},
    })
    const key = 'sync/22222222-2222-4222-8222-222222222222'
    let answerOld: (l: Loaded) => void = () => {}
    const old = cache.refresh(key, () => new Promise<Loaded>((r) => (answerOld = r)), Promise.resolve(undefined))

    await cache.invalidateAsset(key) // the event
    const fresh = await cache.refresh(key, async () => entry('new'), Promise.resolve(undefined), true, true)
    expect(fresh.entry.body).toBe('new')

    answerOld(entry('old')) // the client's call comes back last
    expect((await old).entry.body).toBe('old') // its caller still gets an answer
    await Promise.allSettled(pending)
    expect(memory.peek(key, now)?.body).toBe('new')
    expect(edge.held.get(key)?.body).toBe('new')
    expect(kv.held.get(key)?.body).toBe('new')
    const again = await cache.refresh(key, async () => entry('third'), Promise.resolve(undefined))
    expect(again.entry.body).not.toBe('old')
  })

  it('writes a miss to the shared tiers SHARED_WRITE_DELAY_MS after its answer, and answers the gap from the landed copy', async () => {
    const held = { edge: new Map<string, CacheEntry>(), kv: new Map<string, CacheEntry>() }
    const tier = (name: 'edge' | 'kv'): Store => ({
      name,
      get: async (k) => held[name].get(k),
      put: async (k, e) => void held[name].set(k, e),
      delete: async (k) => void held[name].delete(k),
      keys: async () => [],
    })
    const pending: Promise<unknown>[] = []
    // No memory tier: between the answer and the writes, only the coalescer's landed copy holds the entry.
    const cache = new TieredCache({
      memory: undefined,
      stores: [tier('edge'), tier('kv')],
      coalescer: new Coalescer(),
      waitUntil: (p) => pending.push(p),
      staleStatus: () => undefined,
    })
    const now = Date.now()
    let calls = 0
    const load = async (): Promise<Loaded> => {
      calls++
      const e = {
        v: 1,
        kind: 'record',
        body: '{}',
        etag: '"e"',
        state: 'ready',
        storedAt: now,
        freshUntil: now + 60_000,
        staleUntil: now + 120_000,
        staleIfErrorUntil: now + 180_000,
      } as const
      return { entry: e, headers: {} }
    }
    const key = 'sync/22222222-2222-4222-8222-222222222222'
    expect((await cache.get(key, load, NO_DIRECTIVES)).served).toEqual({ kind: 'fetched', fwd: 'miss' })
    // A timer due sooner than the writes' fires first: the answer is out, nothing is written yet.
    await new Promise((r) => setTimeout(r, Math.floor(SHARED_WRITE_DELAY_MS / 5)))
    expect([held.edge.has(key), held.kv.has(key)]).toEqual([false, false])
    expect((await cache.get(key, load, NO_DIRECTIVES)).served).toEqual({ kind: 'fetched', fwd: 'miss' }) // the landed copy
    expect(calls).toBe(1)
    await Promise.allSettled(pending)
    expect([held.edge.has(key), held.kv.has(key)]).toEqual([true, true])
    expect((await cache.get(key, load, NO_DIRECTIVES)).served).toEqual({ kind: 'hit', tier: 'edge' })
    expect(calls).toBe(1)
  })

  it('shares an upstream failure with every joined caller, and caches none of it', async () => {
    const upstream = fakeSync(async () => {
      await new Promise((r) => setTimeout(r, 30))
      return Response.json({ message: 'boom', statusCode: 500 }, { status: 500 })
    })
    const path = `/sync/v2/assets/${SAMPLE.video}`
    const all = await Promise.all(Array.from({ length: 20 }, () => callApp(path, { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher })))
    expect(all.every(({ response }) => response.status === 500)).toBe(true)
    expect(upstream.state.calls).toBe(1)
    await callApp(path, { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher })
    expect(upstream.state.calls).toBe(2)
  })
})
