import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { SAMPLE } from '../src/sandbox/samples'
import { call, callApp, resetState } from './helpers'

beforeEach(resetState)

/** A dataset that keeps what is written to it (Analytics Engine has no local read-back). */
function fakeDataset() {
  const points: AnalyticsEngineDataPoint[] = []
  return { points, dataset: { writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point ?? {}) } as AnalyticsEngineDataset }
}

const SYNC = `/sync/v2/assets/${SAMPLE.video}`

describe('metrics: one data point per lookup, redirect and event', () => {
  it('lookups: provider, tier that answered, status, upstream status and time, bytes', async () => {
    const { points, dataset } = fakeDataset()
    await callApp(SYNC, { env: { METRICS: dataset } })
    const hit = await callApp(SYNC, { env: { METRICS: dataset } })
    const bytes = (await hit.response.text()).length
    await callApp('/gumnut/api/assets/asset_fail_500', { env: { METRICS: dataset } })
    expect(points).toHaveLength(3)
    const [miss, memory, failed] = points
    expect(miss).toMatchObject({ blobs: ['lookup', 'sync', 'upstream', ''], indexes: ['sync'] })
    expect(miss?.doubles?.slice(0, 2)).toEqual([200, 200])
    expect(miss?.doubles?.[2]).toBeTypeOf('number')
    expect(miss?.doubles?.[3]).toBe(bytes)
    expect(memory).toMatchObject({ blobs: ['lookup', 'sync', 'memory', ''], doubles: [200, 0, 0, bytes] })
    expect(failed).toMatchObject({ blobs: ['lookup', 'gumnut', 'none', 'upstream_error'] })
    expect(failed?.doubles?.slice(0, 2)).toEqual([500, 500]) // the provider's 500 reaches the client as it answered it
  })

  it('redirects and events', async () => {
    const { points, dataset } = fakeDataset()
    const minted = await call('/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'sync', id: SAMPLE.video, variant: 'thumbnail' }),
    })
    expect(minted.status, await minted.clone().text()).toBe(201)
    const { url } = (await minted.json()) as { url: string }
    const followed = await callApp(new URL(url).pathname, { env: { METRICS: dataset }, init: { redirect: 'manual' } })
    expect(followed.response.status).toBe(302)
    const body = JSON.stringify({ type: 'asset.updated', resource: { type: 'asset', id: SAMPLE.image }, user: { id: 'u' }, team: { id: 't' } })
    const headers = await signFrameioWebhook(env.FRAMEIO_WEBHOOK_SECRET ?? '', body, Math.floor(Date.now() / 1000))
    const hook = await callApp('/webhooks/frameio', { env: { METRICS: dataset }, init: { method: 'POST', body, headers } })
    expect(hook.response.status).toBe(202)
    expect(points.map((p) => p.blobs?.slice(0, 2))).toEqual([
      ['redirect', 'sync'],
      ['event', 'frameio'],
    ])
    expect(points[1]).toMatchObject({ blobs: ['event', 'frameio', 'rewarm', 'asset.updated'], doubles: [200, 0, 0, 0] })
  })

  it('GET /admin/stats: hit ratio by tier, upstream latency and error rate per provider', async () => {
    await call(SYNC)
    await call(SYNC)
    await call(SYNC)
    await call('/gumnut/api/assets/asset_fail_500')
    const response = await call('/admin/stats')
    expect(response.status).toBe(200)
    const stats = (await response.json()) as Record<string, unknown>
    expect(stats.hit_ratio_by_tier).toEqual([
      { tier: 'memory', lookups: 2, ratio: 0.5 },
      { tier: 'upstream', lookups: 1, ratio: 0.25 },
      { tier: 'none', lookups: 1, ratio: 0.25 },
    ])
    expect(stats.error_rate).toEqual([
      { provider: 'sync', lookups: 3, errors: 0, rate: 0 },
      { provider: 'gumnut', lookups: 1, errors: 1, rate: 1 },
    ])
    expect(stats.upstream_latency).toEqual([
      { provider: 'sync', calls: 1, p50_ms: expect.any(Number), p99_ms: expect.any(Number) },
      { provider: 'gumnut', calls: 1, p50_ms: expect.any(Number), p99_ms: expect.any(Number) },
    ])
  })
})
