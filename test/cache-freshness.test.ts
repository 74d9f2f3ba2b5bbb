import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import {
  callApp,
  createKey,
  expectProblem,
  expectProviderAnswer,
  fakeSync,
  forgetEdgeEntries,
  freshIsolate,
  resetState,
  sandboxStats,
  syncRecord,
  UPSTREAM,
} from './helpers'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

const status = (r: Response) => r.headers.get('cache-status') ?? ''
const maxAge = (r: Response) => Number(/max-age=(\d+)/.exec(r.headers.get('cache-control') ?? '')?.[1])
const later = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000)
const SYNC = `/sync/v2/assets/${SAMPLE.video}`
const viaFake = (upstream: ReturnType<typeof fakeSync>, init?: RequestInit) =>
  callApp(SYNC, { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher, ...(init ? { init } : {}) })

describe('freshness follows the asset state', () => {
  it('a ready asset is fresh 5 minutes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { response } = await callApp(`/frameio/v2/assets/${SAMPLE.image}`)
    expect(maxAge(response)).toBe(300)
    later(299)
    freshIsolate()
    forgetEdgeEntries() // another data centre: only KV has it
    expect(status((await callApp(`/frameio/v2/assets/${SAMPLE.image}`)).response)).toMatch(/^asset-edge; hit; detail=kv/)
    expect(sandboxStats.calls('frameio')).toBe(1)
  })

  it.each([
    ['spotify', `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.processing}`],
    ['gumnut', `/gumnut/api/assets/${GUMNUT_SAMPLE.processing}`],
    ['frameio', `/frameio/v2/assets/${SAMPLE.processing}`],
    ['sync', `/sync/v2/assets/${SAMPLE.processing}`],
  ])('a not-yet-ready %s asset is fresh a few seconds only, and never served stale while revalidating', async (provider, path) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { response } = await callApp(path)
    expect(maxAge(response)).toBeLessThanOrEqual(5)
    later(6)
    const again = await callApp(path)
    expect(status(again.response)).toMatch(/fwd=(stale|miss); stored$/)
    expect(sandboxStats.calls(provider)).toBe(2)
  })

  it('a not-found answer is remembered 30 s, and kept out of KV', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const path = `/sync/v2/assets/${SAMPLE.unknown}`
    const first = await expectProviderAnswer((await callApp(path)).response, 404, 'asset_not_found')
    const cached = (await callApp(path)).response
    expect(await expectProviderAnswer(cached, 404, 'asset_not_found')).toBe(first)
    expect(status(cached)).toMatch(/hit; detail=memory/)
    expect(sandboxStats.calls('sync')).toBe(1)
    expect((await env.ASSET_KV.list({ prefix: 'cache:' })).keys).toEqual([])
    later(31)
    freshIsolate()
    await callApp(path)
    expect(sandboxStats.calls('sync')).toBe(2)
  })

  it.each(['fail500', 'fail429', 'hang', 'malformed', 'fail401'] as const)('an upstream %s is never cached', async (fault) => {
    const path = `/sync/v2/assets/${SAMPLE[fault]}`
    await callApp(path)
    await callApp(path)
    expect(sandboxStats.calls('sync')).toBe(2)
    expect((await env.ASSET_KV.list({ prefix: 'cache:' })).keys).toEqual([])
  })
})

describe('stale answers', () => {
  it('serves stale while revalidating in the background, then the new state', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const upstream = fakeSync((n) => syncRecord(SAMPLE.video, `version ${n}`))
    await viaFake(upstream)
    later(301)
    freshIsolate()
    const stale = await viaFake(upstream)
    expect(status(stale.response)).toBe('asset-edge; fwd=stale; detail=revalidating')
    expect(((await stale.response.json()) as { name: string }).name).toBe('version 1')
    expect(upstream.state.calls).toBe(2) // the background refresh ran (callApp awaits waitUntil)
    const fresh = await viaFake(upstream)
    expect(((await fresh.response.json()) as { name: string }).name).toBe('version 2')
    expect(status(fresh.response)).toMatch(/hit; detail=memory/)
  })

  it('serves stale when the provider fails, within a day', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const upstream = fakeSync((n) =>
      n === 1 ? syncRecord(SAMPLE.video, 'good', 86_400 * 2) : Response.json({ message: 'down', statusCode: 503 }, { status: 500 }),
    )
    await viaFake(upstream)
    later(5 * 3600) // past fresh and past stale-while-revalidate
    freshIsolate()
    const { response } = await viaFake(upstream)
    expect(response.status).toBe(200)
    expect(status(response)).toBe('asset-edge; fwd=stale; fwd-status=502; detail=stale-if-error')
    expect(((await response.json()) as { name: string }).name).toBe('good')
    later(86_400)
    freshIsolate()
    await expectProviderAnswer((await viaFake(upstream)).response, 500, 'upstream_error', '{"message":"down","statusCode":503}')
  })

  it('never serves a stale copy whose media URLs expired, from any tier', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const upstream = fakeSync((n) =>
      n === 1 ? syncRecord(SAMPLE.video, 'short-lived', 600) : Response.json({ message: 'down', statusCode: 500 }, { status: 500 }),
    )
    await viaFake(upstream)
    later(541) // the URL has less than MEDIA_URL_MIN_VALIDITY_S left
    freshIsolate()
    const { response } = await viaFake(upstream)
    await expectProviderAnswer(response, 500, 'upstream_error', '{"message":"down","statusCode":500}')
    expect(upstream.state.calls).toBe(2)
  })

  it('does not keep a record whose media URLs are about to expire, but still answers it', async () => {
    const upstream = fakeSync(() => syncRecord(SAMPLE.video, 'dying', 30))
    expect((await viaFake(upstream)).response.status).toBe(200)
    expect((await viaFake(upstream)).response.status).toBe(200)
    expect(upstream.state.calls).toBe(2)
  })
})

describe('client directives, validators and headers', () => {
  it('Cache-Control: no-cache revalidates with the provider before answering', async () => {
    const upstream = fakeSync((n) => syncRecord(SAMPLE.video, `v${n}`))
    await viaFake(upstream)
    for (const directive of ['no-cache', 'max-age=0']) {
      const { response } = await viaFake(upstream, { headers: { 'cache-control': directive } })
      expect(status(response)).toBe('asset-edge; fwd=request; stored')
    }
    expect(upstream.state.calls).toBe(3)
    const { response } = await viaFake(upstream)
    expect(((await response.json()) as { name: string }).name).toBe('v3')
  })

  it('only-if-cached answers 504 when nothing is cached, and the copy when one is', async () => {
    const upstream = fakeSync(() => syncRecord(SAMPLE.video, 'x'))
    const miss = await viaFake(upstream, { headers: { 'cache-control': 'only-if-cached' } })
    await expectProblem(miss.response, 504, 'not_cached')
    expect(upstream.state.calls).toBe(0)
    await viaFake(upstream)
    const hit = await viaFake(upstream, { headers: { 'cache-control': 'only-if-cached' } })
    expect(hit.response.status).toBe(200)
  })

  it('a strong ETag with If-None-Match gives 304, from every tier', async () => {
    const first = (await callApp(SYNC)).response
    const etag = first.headers.get('etag') ?? ''
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    const revalidated = (await callApp(SYNC, { init: { headers: { 'if-none-match': etag } } })).response
    expect(revalidated.status).toBe(304)
    expect(await revalidated.text()).toBe('')
    expect(revalidated.headers.get('etag')).toBe(etag)
    freshIsolate()
    expect((await callApp(SYNC, { init: { headers: { 'if-none-match': `W/${etag}, "other"` } } })).response.status).toBe(304)
    expect((await callApp(SYNC, { init: { headers: { 'if-none-match': '"other"' } } })).response.status).toBe(200)
  })

  it('a changed body gets a new ETag', async () => {
    const upstream = fakeSync((n) => syncRecord(SAMPLE.video, `v${n}`))
    const a = (await viaFake(upstream)).response.headers.get('etag')
    const b = (await viaFake(upstream, { headers: { 'cache-control': 'no-cache' } })).response.headers.get('etag')
    expect(a).not.toBe(b)
  })

  it('sends Age, Cache-Control: private, Server-Timing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    await callApp(SYNC)
    later(3)
    const { response } = await callApp(SYNC)
    expect(response.headers.get('age')).toBe('3')
    expect(response.headers.get('cache-control')).toBe('private, max-age=297')
    expect(response.headers.get('server-timing')).toMatch(/^memory;dur=/)
  })
})

describe('KV writes', () => {
  it('writes KV only when the content changed or its copy went stale', async () => {
    const puts: string[] = []
    const countingKv = new Proxy(env.ASSET_KV, {
      get(target, prop) {
        if (prop === 'put') return (key: string, ...rest: unknown[]) => (puts.push(key), (target.put as (...a: unknown[]) => Promise<void>)(key, ...rest))
        const value = Reflect.get(target, prop) as unknown
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    // One body for the "same" answers: a record made a second later carries a later signed URL.
    const same = syncRecord(SAMPLE.video, 'same')
    const upstream = fakeSync((n) => (n < 3 ? same.clone() : syncRecord(SAMPLE.video, 'changed')))
    const ask = (init?: RequestInit) =>
      callApp(SYNC, {
        env: { SYNC_BASE_URL: UPSTREAM, ASSET_KV: countingKv, CACHE_TIER_TIMEOUT_MS: '5000' }, // a slow KV read on a busy machine is not "no copy"
        fetch: upstream.fetcher,
        ...(init ? { init } : {}),
      })
    await ask()
    await ask({ headers: { 'cache-control': 'no-cache' } }) // same content, KV copy still fresh
    expect(puts.filter((k) => k.startsWith('cache:'))).toHaveLength(1)
    await ask({ headers: { 'cache-control': 'no-cache' } }) // changed
    expect(puts.filter((k) => k.startsWith('cache:'))).toHaveLength(2)
  })
})

describe('gateway key verification is cached in the isolate', () => {
  it('a revoked key stops working within KEY_CACHE_TTL_S', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const key = await createKey({})
    expect((await callApp(SYNC, { key })).response.status).toBe(200)
    const { digestKey, KEY_PREFIX } = await import('../src/http/auth')
    await env.ASSET_KV.delete(KEY_PREFIX + (await digestKey(key)))
    expect((await callApp(SYNC, { key })).response.status).toBe(200) // still trusted in this isolate
    later(31)
    await expectProblem((await callApp(SYNC, { key })).response, 401, 'invalid_api_key')
  })
})
