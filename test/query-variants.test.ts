import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, callApp, expectProblem, expectProviderAnswer, resetState, sandboxStats, UPSTREAM } from './helpers'

/**
 * Frame.io `type` (a string or repeated) and Gumnut `include` pass values the gateway does not know
 * through to the provider, bounded: only documented values are cached, so a key holder who invents
 * values buys no cache entries, KV writes or shared calls (issue 14; issue 15 finding 1).
 */
beforeEach(resetState)

const cacheKeys = async () => (await env.ASSET_KV.list({ prefix: 'cache:' })).keys.map((k) => k.name)

/** A Frame.io of the test's own that records the query of every call. */
function fakeFrameio() {
  const queries: string[] = []
  const fetcher: typeof fetch = async (input, init) => {
    const url = new URL(new Request(input, init).url)
    if (url.origin !== UPSTREAM) throw new Error(`unexpected outbound call to ${url.origin}`)
    queries.push(url.search)
    const id = url.pathname.split('/').pop()
    return Response.json({ id, type: 'file', name: 'cut.mp4', upload_completed_at: '2026-01-23T04:56:09Z', original: null })
  }
  const ask = (query: string) => callApp(`/frameio/v2/assets/${SAMPLE.image}${query}`, { env: { FRAMEIO_BASE_URL: UPSTREAM }, fetch: fetcher })
  return { queries, ask }
}

describe('Frame.io type', () => {
  it('caches a documented value: the second lookup is a hit', async () => {
    const frameio = fakeFrameio()
    expect((await frameio.ask('?type=file')).response.status).toBe(200)
    const again = (await frameio.ask('?type=file')).response
    expect(again.headers.get('cache-status')).toMatch(/hit/)
    expect(frameio.queries).toEqual(['?type=file'])
  })

  it('passes repeats through as repeats, and caches none of them', async () => {
    const frameio = fakeFrameio()
    for (let i = 0; i < 2; i++) {
      const { response } = await frameio.ask('?type=folder&type=file&type=file')
      expect(response.status).toBe(200)
      expect(response.headers.get('cache-status')).toBe('asset-edge; fwd=bypass; detail=uncached-query')
      expect(response.headers.get('cache-control')).toBe('private, no-cache')
    }
    // Sorted and de-duplicated, sent as the page's "Array of strings" (`type=a&type=b`), asked each time.
    expect(frameio.queries).toEqual(['?type=file&type=folder', '?type=file&type=folder'])
    expect(await cacheKeys()).toEqual([])
  })

  it('passes an undocumented value through uncached', async () => {
    const frameio = fakeFrameio()
    for (let i = 0; i < 3; i++) expect((await frameio.ask('?type=review_link')).response.headers.get('cache-status')).toMatch(/fwd=bypass/)
    expect(frameio.queries).toEqual(['?type=review_link', '?type=review_link', '?type=review_link'])
    expect(await cacheKeys()).toEqual([])
  })

  it('answers only-if-cached for an uncached query with 504, without calling', async () => {
    const frameio = fakeFrameio()
    const { response } = await callApp(`/frameio/v2/assets/${SAMPLE.image}?type=review_link`, {
      env: { FRAMEIO_BASE_URL: UPSTREAM },
      init: { headers: { 'cache-control': 'only-if-cached' } },
    })
    await expectProblem(response, 504, 'not_cached')
    expect(frameio.queries).toEqual([])
  })
})

describe('Gumnut include', () => {
  it("passes an unknown value to Gumnut and replays Gumnut's own 422", async () => {
    const response = await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=faces,selfies`)
    const body = JSON.parse(await expectProviderAnswer(response, 422, 'upstream_rejected')) as { detail: { loc: string[]; input: string }[] }
    expect(body.detail[0]).toMatchObject({ loc: ['query', 'include'], input: 'selfies' })
    expect(response.headers.get('cache-status')).toBe('asset-edge; fwd=bypass; detail=uncached-query')
  })

  it('bounds invented values: each costs one call, and nothing is cached, written to KV or shared', async () => {
    const invented = Array.from({ length: 12 }, (_, i) => `made_up_${i}`)
    for (const value of invented) await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=${value}`)
    // The same invented value again is asked again: no tier holds it.
    await Promise.all([1, 2, 3].map(() => call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=made_up_0`)))
    expect(sandboxStats.calls('gumnut')).toBe(invented.length + 3)
    expect(await cacheKeys()).toEqual([])
    // A documented set is still cached (and shared): one call for two lookups.
    await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=variants,faces`)
    await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=faces&include=variants`)
    expect(sandboxStats.calls('gumnut')).toBe(invented.length + 4)
  })

  it('refuses a link whose lookup could not be cached', async () => {
    const response = await call('/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, include: 'selfies', variant: 'thumbnail' }),
    })
    await expectProblem(response, 422, 'invalid_include')
    expect(sandboxStats.calls('gumnut')).toBe(0)
  })
})
