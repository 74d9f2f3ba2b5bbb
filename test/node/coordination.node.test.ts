import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleGateway, busiestSecond, type Cluster, providerStats, startCluster } from './multi-isolate'

const AD_ACCOUNT = 'ce4ff15e-f04d-48b9-9ddf-fb3c85fbd57a'
const ISOLATES = 3
const id = (tag: string, i: number) => `${tag}0000000-0000-4000-8000-${String(i).padStart(12, '0')}`

let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster(await bundleGateway(), ISOLATES)
}, 120_000)
afterAll(async () => {
  await cluster?.mf.dispose()
})

/** `n` lookups at once, spread round-robin over the gateway isolates. */
function spread(n: number, path: (i: number) => string): Promise<Response[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => cluster.fetch(cluster.gateways[i % cluster.gateways.length] ?? 'gw0', path(i))))
}

describe(`${ISOLATES} gateway isolates, one provider gate`, () => {
  it('200 concurrent cold lookups of one id make one upstream call, and all get the same answer', async () => {
    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const answers = await spread(200, () => `/frameio/v2/assets/${id('a', 1)}`)
    expect(answers.map((r) => r.status)).toEqual(Array(200).fill(200))
    expect(new Set(await Promise.all(answers.map((r) => r.text()))).size).toBe(1)
    expect((await providerStats(cluster)).frameio).toHaveLength(1)
  }, 60_000)

  it('a burst of distinct cold Frame.io ids: at most 5 calls in any second, every answer 200 or 429 with Retry-After', async () => {
    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const answers = await spread(60, (i) => `/frameio/v2/assets/${id('b', i)}`)
    const stats = await providerStats(cluster)
    expect(busiestSecond(stats.frameio)).toBeLessThanOrEqual(5)
    for (const answer of answers) {
      expect([200, 429]).toContain(answer.status)
      if (answer.status === 429) expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      await answer.arrayBuffer()
    }
    expect(answers.filter((r) => r.status === 200).length).toBe(stats.frameio.length)
    expect(stats.frameio.length).toBeGreaterThanOrEqual(5)
  }, 60_000)

  it('50 concurrent lookups needing a fresh Spotify token: 1 token request, 0 invalid_grant', async () => {
    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const answers = await spread(50, (i) => `/spotify/ad_accounts/${AD_ACCOUNT}/assets/${id('c', i)}`)
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200))
    await Promise.all(answers.map((r) => r.arrayBuffer()))
    const stats = await providerStats(cluster)
    expect(stats.token).toBe(1)
    expect(stats.invalidGrant).toBe(0)
    expect(stats.spotify).toBe(50)
  }, 60_000)
})
