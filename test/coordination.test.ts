import { createExecutionContext, evictDurableObject, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Flights } from '../src/coordinator/flights'
import { SLOT_VALID_MS, SlotSchedule } from '../src/coordinator/schedule'
import { accountOf } from '../src/coordinator/session'
import { IsolateState } from '../src/isolate-state'
import { SAMPLE } from '../src/sandbox/samples'
import { currentGateScope, DEV_KEY, fakeSync, ORIGIN, resetState, sandboxStats, syncRecord, UPSTREAM, worldWorker } from './helpers'
import { recordResponse } from './setup/leak-scan'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `0000000${tag}-0000-4000-8000-${String(i).padStart(12, '0')}`)
const SPOTIFY = `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.image}`
const TOKEN_URL = 'https://accounts.spotify.test/api/token'

/** One request through a Worker playing its own isolate (`isolate`), over this test's world. */
async function viaIsolate(
  isolate: IsolateState,
  path: string,
  options: { env?: Record<string, unknown>; fetch?: typeof fetch; init?: RequestInit } = {},
): Promise<Response> {
  const { handler } = worldWorker({ isolate, ...(options.fetch ? { fetch: options.fetch } : {}) })
  const headers = new Headers(options.init?.headers)
  headers.set('authorization', `Bearer ${DEV_KEY}`)
  const ctx = createExecutionContext()
  const response = await handler.fetch(new Request(new URL(path, ORIGIN), { ...options.init, headers }), { ...env, ...options.env } as Env, ctx)
  await waitOnExecutionContext(ctx)
  await recordResponse(response)
  return response
}

/** A PROVIDER_GATE binding that counts how often it is reached and answers as `stub` says. */
function fakeNamespace(stub: () => unknown) {
  const state = { gets: 0 }
  const namespace = {
    idFromName: (name: string) => ({ name }),
    get: () => {
      state.gets += 1
      return stub()
    },
  }
  return { namespace: namespace as unknown as Env['PROVIDER_GATE'], state }
}

/** A gate that never answers: every method returns a promise that stays pending. */
const hangingGate = () => new Proxy({}, { get: () => () => new Promise(() => {}) })

describe('SlotSchedule', () => {
  it('never lets more than `limit` calls start in any one-second window, even at the end of their slots', () => {
    const schedule = new SlotSchedule()
    const starts: number[] = []
    for (let now = 0; now < 10_000; now += 37) {
      const grant = schedule.lease({ limit: 5, want: 2, maxWaitMs: 300 }, now)
      for (const offset of grant.startsMs) starts.push(now + offset + SLOT_VALID_MS) // the latest a slot may be used
      if (grant.startsMs.length === 0) expect(grant.retryAfterMs).toBeGreaterThan(300)
    }
    starts.sort((a, b) => a - b)
    for (let i = 5; i < starts.length; i++) expect((starts[i] ?? 0) - (starts[i - 5] ?? 0)).toBeGreaterThanOrEqual(1000)
    expect(starts.length).toBeGreaterThanOrEqual(35) // about 5 per 1.2 s over 10 s
  })

  it('grants a burst of `limit` at once, then nothing past the caller’s wait, and says when the next slot is', () => {
    const schedule = new SlotSchedule()
    expect(schedule.lease({ limit: 5, want: 5, maxWaitMs: 0 }, 0).startsMs).toEqual([0, 0, 0, 0, 0])
    expect(schedule.lease({ limit: 5, want: 1, maxWaitMs: 500 }, 100)).toEqual({ startsMs: [], validMs: SLOT_VALID_MS, retryAfterMs: 1100 })
    expect(schedule.lease({ limit: 5, want: 2, maxWaitMs: 2000 }, 100).startsMs).toEqual([1100, 1100])
  })
})

describe('Flights', () => {
  it('lets one caller lead and answers every joiner with what it lands', async () => {
    const flights = new Flights<string>()
    const first = flights.begin('k', 1000)
    expect(first.lead).toBe(true)
    expect(flights.begin('k', 1000)).toEqual({ lead: false })
    const joiners = [flights.wait('k'), flights.wait('k')]
    if (first.lead) flights.land('k', first.ticket, 'answer')
    expect(await Promise.all(joiners)).toEqual(['answer', 'answer'])
    expect(flights.size).toBe(0)
    expect(await flights.wait('k')).toBeUndefined() // nothing kept after landing
  })

  it('gives a landed answer to a lookup that began before it landed, never to one that began after (a purge, say)', () => {
    let now = 1000
    const flights = new Flights<string>(10, { ms: 2000, entries: 2, bytes: 100 }, () => now)
    const first = flights.begin('k', 1000, 900)
    if (first.lead) flights.land('k', first.ticket, 'answer', 10)
    expect(flights.begin('k', 1000, 950)).toEqual({ lead: false, landed: 'answer' }) // began before it landed
    expect(flights.begin('k', 1000, 1001).lead).toBe(true) // began after: calls again
    now = 1500
    for (const key of ['a', 'b', 'c']) {
      const begun = flights.begin(key, 1000, 0)
      if (begun.lead) flights.land(key, begun.ticket, key, 10)
    }
    expect(flights.begin('a', 1000, 0).lead).toBe(true) // only the 2 newest are kept
    expect(flights.begin('c', 1000, 0)).toEqual({ lead: false, landed: 'c' })
    now = 4000
    expect(flights.begin('c', 1000, 0).lead).toBe(true) // and for 2 s at most
  })

  it('answers joiners `undefined` when the leader misses its deadline, and bounds the flights it tracks', async () => {
    const flights = new Flights<string>(1)
    flights.begin('k', 20)
    expect(await flights.wait('k')).toBeUndefined()
    flights.begin('a', 1000)
    expect(flights.begin('b', 1000)).toEqual({ lead: true, ticket: expect.any(Number) })
    expect(flights.size).toBe(1) // 'b' leads untracked
  })
})

describe('the provider gate', () => {
  it('is never called for a provider that needs no coordination (no limit, no OAuth)', async () => {
    const gate = fakeNamespace(hangingGate)
    const upstream = fakeSync((_n, url) => syncRecord(url.pathname.split('/').pop() ?? '', 'plain'))
    const response = await viaIsolate(new IsolateState(), `/sync/v2/assets/${SAMPLE.video}`, {
      env: { SYNC_BASE_URL: UPSTREAM, PROVIDER_GATE: gate.namespace },
      fetch: upstream.fetcher,
    })
    expect(response.status).toBe(200)
    expect(gate.state.gets).toBe(0)
    expect(response.headers.get('server-timing')).not.toContain('gate')
  })

  it('is never called on a hit, from memory or from KV, even for a provider that uses it', async () => {
    const isolate = new IsolateState()
    expect((await viaIsolate(isolate, SPOTIFY)).status).toBe(200) // a miss, through the real gate
    const gate = fakeNamespace(hangingGate)
    const fromMemory = await viaIsolate(isolate, SPOTIFY, { env: { PROVIDER_GATE: gate.namespace } })
    expect(fromMemory.headers.get('cache-status')).toMatch(/hit; detail=memory/)
    const fromKv = await viaIsolate(new IsolateState(), SPOTIFY, { env: { PROVIDER_GATE: gate.namespace } })
    expect(fromKv.headers.get('cache-status')).toMatch(/hit; detail=(edge|kv)/)
    expect(gate.state.gets).toBe(0)
  })

  it('holds the rate limit across isolates: distinct cold ids from three isolates make `limit` calls, the rest 429 with Retry-After', async () => {
    const upstream = fakeSync((_n, url) => syncRecord(url.pathname.split('/').pop() ?? '', 'paced'))
    const limits = { SYNC_BASE_URL: UPSTREAM, UPSTREAM_MAX_RPS_SYNC: '2', UPSTREAM_TIMEOUT_MS: '400' }
    const isolates = [new IsolateState(), new IsolateState(), new IsolateState()]
    const answers = await Promise.all(
      ids(6, '4').map((id, i) => viaIsolate(isolates[i % 3] as IsolateState, `/sync/v2/assets/${id}`, { env: limits, fetch: upstream.fetcher })),
    )
    expect(upstream.state.calls).toBe(2) // per isolate pacing would have let 6 through
    expect(answers.filter((r) => r.status === 200)).toHaveLength(2)
    for (const limited of answers.filter((r) => r.status !== 200)) {
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    }
  })

  it('joins concurrent cold misses from several isolates into one upstream call', async () => {
    const isolates = [new IsolateState(), new IsolateState(), new IsolateState()]
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => viaIsolate(isolates[i % 3] as IsolateState, SPOTIFY)))
    expect(answers.map((r) => r.status)).toEqual(Array(30).fill(200))
    expect(new Set(await Promise.all(answers.map((r) => r.text()))).size).toBe(1)
    expect(sandboxStats.calls('spotify')).toBe(1)
    expect(sandboxStats.tokensMinted()).toBe(1)
  })

  it('falls back to per-isolate pacing when the object is unreachable, and says so in Server-Timing and the log', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {}) // checked below, not printed
    const gate = fakeNamespace(() => {
      throw new Error('Durable Object unreachable')
    })
    const upstream = fakeSync((_n, url) => syncRecord(url.pathname.split('/').pop() ?? '', 'fallback'))
    const response = await viaIsolate(new IsolateState(), `/sync/v2/assets/${SAMPLE.video}`, {
      env: { SYNC_BASE_URL: UPSTREAM, UPSTREAM_MAX_RPS_SYNC: '2', PROVIDER_GATE: gate.namespace },
      fetch: upstream.fetcher,
    })
    expect(response.status).toBe(200)
    expect(response.headers.get('server-timing')).toContain('gate;desc="fallback"')
    expect(gate.state.gets).toBeGreaterThan(0)
    expect(warn.mock.calls.some((args) => String(args[0]).includes('provider gate unavailable'))).toBe(true)
    warn.mockRestore()
  })

  it('falls back when the object is slow (GATE_TIMEOUT_MS): a token is minted here, and a stale copy is served, never a 5xx', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {}) // checked below, not printed
    const gate = fakeNamespace(hangingGate)
    const slow = { PROVIDER_GATE: gate.namespace, GATE_TIMEOUT_MS: '30', UPSTREAM_TIMEOUT_MS: '1000' }
    const first = await viaIsolate(new IsolateState(), SPOTIFY, { env: slow })
    expect(first.status).toBe(200)
    expect(first.headers.get('server-timing')).toContain('gate;desc="fallback"')
    expect(sandboxStats.tokensMinted()).toBe(1)
    // Much later the provider fails: the stale copy stands in.
    vi.setSystemTime(Date.now() + 5 * 3600 * 1000)
    const failing = fakeSync(() => Response.json({ message: 'down' }, { status: 503 }))
    const again = await viaIsolate(new IsolateState(), SPOTIFY, {
      env: { ...slow, SPOTIFY_BASE_URL: UPSTREAM, SPOTIFY_TOKEN_URL: `${UPSTREAM}/token` },
      fetch: failing.fetcher,
    })
    expect(again.status).toBe(200)
    expect(again.headers.get('cache-status')).toContain('stale-if-error')
    expect(warn.mock.calls.some((args) => String(args[0]).includes('no answer within 30 ms'))).toBe(true)
    warn.mockRestore()
  })

  it('keeps the rotated refresh token in its storage across a restart', async () => {
    const used = new Set<string>()
    let n = 0
    const tokenEndpoint: typeof fetch = async (input, init) => {
      const request = new Request(input, init)
      if (request.url !== TOKEN_URL) return fetch(input, init)
      // Decoded from bytes: workerd warns on .text() of a form body.
      const refresh = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())).get('refresh_token') ?? ''
      if (used.has(refresh)) return Response.json({ error: 'invalid_grant' }, { status: 400 })
      used.add(refresh)
      n += 1
      // expires within the reuse margin: every lookup needs a new token
      return Response.json({ access_token: `sandbox-access-${Math.floor(Date.now() / 1000) + 3600}-0${n}`, expires_in: 30, refresh_token: `rotated-${n}` })
    }
    const rotating = { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: tokenEndpoint, init: { headers: { 'cache-control': 'no-cache' } } }
    expect((await viaIsolate(new IsolateState(), SPOTIFY, rotating)).status).toBe(200)

    const stub = env.PROVIDER_GATE.get(
      env.PROVIDER_GATE.idFromName(`${currentGateScope()}spotify:${await accountOf(new IsolateState(), env.SPOTIFY_CLIENT_ID ?? '')}`),
    )
    const stored = await runInDurableObject(stub, (_instance, state) => state.storage.get<{ state: { refresh_token: string } }>('token'))
    expect(stored?.state.refresh_token).toBe('rotated-1')
    await evictDurableObject(stub) // the object restarts: only its storage survives
    await env.ASSET_KV.delete('spotify:refresh-token') // and KV does not remember the rotated token

    expect((await viaIsolate(new IsolateState(), SPOTIFY, rotating)).status).toBe(200)
    expect([...used]).toEqual([env.SPOTIFY_REFRESH_TOKEN, 'rotated-1'])
  })
})
