import { beforeEach, describe, expect, it } from 'vitest'
import { Pacer } from '../src/upstream/pacer'
import { callApp, expectProblem, fakeSync, resetState, syncRecord, UPSTREAM } from './helpers'

beforeEach(resetState)

const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `0000000${tag}-0000-4000-8000-${String(i).padStart(12, '0')}`)

describe('Pacer', () => {
  it('lets a burst of rps calls go at once, then one every 1/rps seconds', () => {
    const pacer = new Pacer(5, 0)
    expect([0, 0, 0, 0, 0].map(() => pacer.reserve(0))).toEqual([0, 0, 0, 0, 0])
    expect(pacer.reserve(0)).toBe(200)
    expect(pacer.reserve(0)).toBe(400)
    pacer.release() // the last slot went unused
    expect(pacer.reserve(0)).toBe(400)
    expect(pacer.reserve(2000)).toBe(0) // refilled (up to the burst)
  })
})

describe('UPSTREAM_MAX_RPS_<PROVIDER>', () => {
  it('holds distinct cold lookups to the rate, and answers 429 without calling when the slot is past the deadline', async () => {
    const upstream = fakeSync((_n, url) => syncRecord(url.pathname.split('/').pop() ?? '', 'paced'))
    const env = { SYNC_BASE_URL: UPSTREAM, UPSTREAM_MAX_RPS_SYNC: '2', UPSTREAM_TIMEOUT_MS: '300' }
    const answers = await Promise.all(ids(4, '1').map((id) => callApp(`/sync/v2/assets/${id}`, { env, fetch: upstream.fetcher })))
    const statuses = answers.map(({ response }) => response.status).sort()
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(upstream.state.calls).toBe(2)
    const limited = answers.find(({ response }) => response.status === 429)!.response
    // Paced by the account's gate: slot 3 starts one window plus one slot validity (1.2 s) after slot 1.
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    await expectProblem(limited, 429, 'upstream_rate_limited')
  })

  it('spaces the calls when the deadline leaves room: every lookup answered, none faster than the rate', async () => {
    const at: number[] = []
    const upstream = fakeSync((_n, url) => {
      at.push(Date.now())
      return syncRecord(url.pathname.split('/').pop() ?? '', 'paced')
    })
    const env = { SYNC_BASE_URL: UPSTREAM, UPSTREAM_MAX_RPS_SYNC: '4', UPSTREAM_TIMEOUT_MS: '5000' }
    const answers = await Promise.all(ids(6, '2').map((id) => callApp(`/sync/v2/assets/${id}`, { env, fetch: upstream.fetcher })))
    expect(answers.every(({ response }) => response.status === 200)).toBe(true)
    expect(upstream.state.calls).toBe(6)
    // A burst of 4, then one each 250 ms: the 6th call is 500 ms after the first (unpaced: all at once).
    expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual(400)
  })

  it('is off where unset: the same burst goes at once', async () => {
    const upstream = fakeSync((_n, url) => syncRecord(url.pathname.split('/').pop() ?? '', 'unpaced'))
    const env = { SYNC_BASE_URL: UPSTREAM, UPSTREAM_TIMEOUT_MS: '5000' }
    const answers = await Promise.all(ids(8, '3').map((id) => callApp(`/sync/v2/assets/${id}`, { env, fetch: upstream.fetcher })))
    expect(answers.every(({ response }) => response.status === 200)).toBe(true)
    expect(upstream.state.calls).toBe(8)
  })
})
