import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { backoffS, MAX_ATTEMPTS } from '../src/events/delivery'
import { pollFeed, recheckPending } from '../src/freshness/cron'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { receiver, TestQueues } from './events-pipeline'
import { adapterOf, createKey, currentSandbox, DEV_KEY, expectProblem, freshIsolate, gumnutRecord, ORIGIN, resetState, run } from './helpers'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

let queues: TestQueues
beforeEach(() => {
  queues = new TestQueues()
})

/** A request to the gateway with this test's queue as the producer binding. */
async function api(path: string, init: RequestInit = {}, key = DEV_KEY): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${key}`)
  if (init.body) headers.set('content-type', 'application/json')
  return run(new Request(new URL(path, ORIGIN), { ...init, headers }), { env: queues.env() })
}

type Created = { id: string; secret: string; providers: string[]; types: string[]; url: string; created_at: string }
async function subscribe(body: Record<string, unknown> = {}, key = DEV_KEY): Promise<Created> {
  const response = await api('/subscriptions', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.test/in', ...body }) }, key)
  expect(response.status).toBe(201)
  return (await response.json()) as Created
}

const FRAMEIO_IMAGE = `/frameio/v2/assets/${SAMPLE.image}`
const nowS = () => Math.floor(Date.now() / 1000)

async function frameioWebhook(type: string, id: string) {
  const body = JSON.stringify({ type, resource: { type: 'asset', id }, user: { id: 'u' }, team: { id: 't' } })
  const headers = await signFrameioWebhook('test-frameio-webhook-secret', body, nowS())
  return run(new Request(new URL('/webhooks/frameio', ORIGIN), { method: 'POST', body, headers }), { env: queues.env() })
}

describe('asset events reach a subscriber, signed (verified with the standardwebhooks package)', () => {
  it("a Frame.io webhook's change: asset.updated with the record as the lookup serves it", async () => {
    const sub = await subscribe()
    expect(sub.secret).toMatch(/^whsec_/)
    await api(FRAMEIO_IMAGE) // cached: in_progress
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    expect((await frameioWebhook('asset.updated', SAMPLE.image)).status).toBe(202)
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.refused).toEqual([])
    expect(hook.received).toHaveLength(1)
    const [got] = hook.received
    expect(got?.event).toMatchObject({ type: 'asset.updated', provider: 'frameio', asset: { asset_id: SAMPLE.image }, state: 'ready' })
    expect(got?.id).toBe(got?.event.id)
    expect(got?.event.id).toMatch(/^evt_/)
    const served = await (await api(FRAMEIO_IMAGE)).json()
    expect(got?.event.record).toEqual(served)
    expect((got?.event.record as { label: string } | undefined)?.label).toBe('needs_review')
  })

  it('a Gumnut feed change: asset.updated; a deletion: asset.deleted without a record', async () => {
    const sub = await subscribe({ providers: ['gumnut'] })
    const path = `/gumnut/api/assets/${GUMNUT_SAMPLE.image}`
    await api(path)
    const post = (event_type: string) => api('/__sandbox/gumnut/_events', { method: 'POST', body: JSON.stringify({ event_type, id: GUMNUT_SAMPLE.image }) })
    await post('asset_updated')
    const { deps, settled } = queues.cronDeps()
    await pollFeed(deps, adapterOf('gumnut'))
    await settled()
    await post('asset_deleted')
    await pollFeed(deps, adapterOf('gumnut'))
    await settled()
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated', 'asset.deleted'])
    expect((hook.received[0]?.event.record as { description: string } | undefined)?.description).toBe('A colour test card. (edit 2)')
    expect(hook.received[1]?.event).toMatchObject({ provider: 'gumnut', asset: { asset_id: GUMNUT_SAMPLE.image }, state: 'deleted' })
    expect(hook.received[1]?.event).not.toHaveProperty('record')
  })

  it('a Spotify asset turning ready (the pending re-check): asset.ready', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const sub = await subscribe({ types: ['asset.ready'] })
    const path = `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.processing}`
    expect(((await (await api(path)).json()) as { status: string }).status).toBe('PROCESSING')
    const { deps, settled } = queues.cronDeps()
    vi.setSystemTime(Date.now() + 31_000) // the sandbox finishes processing after 30 s
    expect(await recheckPending(deps)).toMatchObject({ settled: 1 })
    await settled()
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.received).toHaveLength(1)
    expect(hook.received[0]?.event).toMatchObject({
      type: 'asset.ready',
      provider: 'spotify',
      asset: { ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.processing },
      state: 'ready',
      record: { status: 'READY' },
    })
  })

  it('a refresh that finds a new ETag is an event; re-signed media URLs alone are not', async () => {
    const sub = await subscribe({ providers: ['frameio'] })
    await api(FRAMEIO_IMAGE)
    await api(FRAMEIO_IMAGE, { headers: { 'cache-control': 'no-cache' } }) // new signatures, same record
    const quiet = receiver(() => [sub.secret])
    await queues.drain(quiet.fetcher)
    expect(quiet.calls()).toBe(0)
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    await api(FRAMEIO_IMAGE, { headers: { 'cache-control': 'no-cache' } }) // a revalidation sees the change…
    await frameioWebhook('asset.updated', SAMPLE.image) // …and so does the provider's webhook, later
    await api(FRAMEIO_IMAGE, { headers: { 'cache-control': 'no-cache' } }) // no change since
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect((hook.received[0]?.event.record as { label?: string } | undefined)?.label).toBe('needs_review')
  })

  it('one change seen by sources in two isolates at once is one event (the KV mark)', async () => {
    const sub = await subscribe({ providers: ['gumnut'] })
    const adapter = adapterOf('gumnut')
    const entry = (description: string) =>
      ({
        v: 1,
        kind: 'record',
        body: JSON.stringify({ id: 'asset_twice', description }),
        etag: `"${description}"`,
        state: 'ready',
        storedAt: Date.now(),
        freshUntil: 0,
        staleUntil: 0,
        staleIfErrorUntil: 0,
      }) as const
    const first = queues.cronDeps().deps
    freshIsolate() // another isolate: its own memory of what it announced
    const second = queues.cronDeps().deps
    await first.events?.changed(adapter, { asset_id: 'asset_twice' }, entry('old'), entry('new'), false)
    await second.events?.changed(adapter, { asset_id: 'asset_twice' }, entry('old'), entry('new'), false)
    expect(queues.events.pending).toHaveLength(1)
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.received).toHaveLength(1)
  })

  it('no event for a first lookup, and none for providers or types not subscribed', async () => {
    const sub = await subscribe({ providers: ['gumnut'] })
    await api(FRAMEIO_IMAGE)
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    await frameioWebhook('asset.updated', SAMPLE.image)
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.calls()).toBe(0)
  })

  it("a subscription gets only providers its key may read, and falls silent when the key's scope goes", async () => {
    const syncOnly = await createKey({ providers: ['sync'], events: true })
    await expectProblem(
      await api('/subscriptions', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.test/in', providers: ['frameio'] }) }, syncOnly),
      403,
      'forbidden_scope',
    )
    const sub = await subscribe({}, syncOnly)
    expect(sub.providers).toEqual(['sync'])
    const all = await createKey({ providers: ['*'], events: true })
    const wide = await subscribe({ providers: ['frameio'] }, all)
    // The key loses its frameio scope after subscribing: its subscription gets nothing more.
    const records = await env.ASSET_KV.list({ prefix: 'gwkey:' })
    for (const { name } of records.keys) {
      const record = await env.ASSET_KV.get<{ scopes: { providers: string[] } }>(name, 'json')
      if (record?.scopes.providers.includes('*')) await env.ASSET_KV.put(name, JSON.stringify({ ...record, scopes: { ...record.scopes, providers: ['sync'] } }))
    }
    await api(FRAMEIO_IMAGE)
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    await frameioWebhook('asset.updated', SAMPLE.image)
    const hook = receiver(() => [sub.secret, wide.secret])
    await queues.drain(hook.fetcher)
    expect(hook.calls()).toBe(0)
  })
})

describe('delivery: retries, dead letters, the log', () => {
  async function oneChange(): Promise<void> {
    await api(FRAMEIO_IMAGE)
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    await frameioWebhook('asset.updated', SAMPLE.image)
  }

  it('a receiver failing twice then succeeding gets three attempts with one webhook-id, backing off', async () => {
    const sub = await subscribe()
    await oneChange()
    const hook = receiver(
      () => [sub.secret],
      (n) => (n <= 2 ? 503 : 200),
    )
    await queues.drain(hook.fetcher)
    expect(hook.received).toHaveLength(3)
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(1)
    expect(new Set(hook.received.map((r) => r.headers['webhook-signature'])).size).toBeGreaterThanOrEqual(1)
    expect(queues.events.delays).toEqual([backoffS(1), backoffS(2)])
    expect(queues.events.delays[1]).toBeGreaterThan(queues.events.delays[0] ?? 0)
    const log = (await (await api(`/subscriptions/${sub.id}/deliveries`)).json()) as { deliveries: Record<string, unknown>[] }
    expect(log.deliveries.map((d) => [d.attempt, d.status, d.ok])).toEqual([
      [3, 200, true],
      [2, 503, false],
      [1, 503, false],
    ])
    expect(log.deliveries.every((d) => d.event_id === hook.received[0]?.id)).toBe(true)
    expect(String(log.deliveries[0]?.response).length).toBe(1024) // the first 1 KiB of the answer
    expect(typeof log.deliveries[0]?.latency_ms).toBe('number')
  })

  it('a receiver down for the whole budget: about a day of backoff, then the dead-letter queue and the log say so', async () => {
    const sub = await subscribe()
    await oneChange()
    const hook = receiver(
      () => [sub.secret],
      () => 500,
    )
    await queues.drain(hook.fetcher)
    expect(MAX_ATTEMPTS).toBeGreaterThanOrEqual(8)
    expect(hook.received).toHaveLength(MAX_ATTEMPTS)
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(1)
    const waited = queues.events.delays.slice(0, -1).reduce((a, b) => a + b, 0)
    expect(waited).toBeGreaterThan(18 * 3600)
    expect(waited).toBeLessThan(30 * 3600)
    expect(queues.deadLetters).toHaveLength(1)
    expect(queues.deadLetters[0]).toMatchObject({ kind: 'delivery', subscription: sub.id, event: { id: hook.received[0]?.id } })
    const log = (await (await api(`/subscriptions/${sub.id}/deliveries`)).json()) as { deliveries: Record<string, unknown>[] }
    expect(log.deliveries).toHaveLength(MAX_ATTEMPTS)
    expect(log.deliveries[0]).toMatchObject({ attempt: MAX_ATTEMPTS, status: 500, ok: false, dead_lettered: true })

    // Redelivery sends it again, same id, fresh budget.
    const again = await api(`/subscriptions/${sub.id}/deliveries/${hook.received[0]?.id}/redeliver`, { method: 'POST' })
    expect(again.status).toBe(202)
    const up = receiver(() => [sub.secret])
    await queues.drain(up.fetcher)
    expect(up.received.map((r) => r.id)).toEqual([hook.received[0]?.id])
  })

  it('a receiver that never answers is cut off at 10 s per attempt', async () => {
    const sub = await subscribe()
    await oneChange()
    const hook = receiver(
      () => [sub.secret],
      () => 'hang',
    )
    const started = Date.now()
    await queues.drain(hook.fetcher, 2) // the fan-out, then the first attempt
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_900)
    const log = (await (await api(`/subscriptions/${sub.id}/deliveries`)).json()) as { deliveries: Record<string, unknown>[] }
    expect(log.deliveries[0]).toMatchObject({ status: null, ok: false, error: 'no answer within 10000 ms' })
  }, 20_000)

  it('a burst of 500 changes, reported at once, arrives with none lost', async () => {
    // The sources are proven one by one above; here 500 changes reach the event sink together
    // (as a busy minute of webhooks and refreshes would), and every one must reach the subscriber.
    const sub = await subscribe({ providers: ['gumnut'] })
    const ids = Array.from({ length: 500 }, (_, i) => `asset_burst${i}`)
    const { deps } = queues.cronDeps()
    const adapter = adapterOf('gumnut')
    const entry = (id: string, edit: number) => {
      const body = JSON.stringify(gumnutRecord(id, { description: `edit ${edit}` }))
      return {
        v: 1,
        kind: 'record',
        body,
        etag: `"${id}-${edit}"`,
        state: 'ready',
        storedAt: Date.now(),
        freshUntil: 0,
        staleUntil: 0,
        staleIfErrorUntil: 0,
      } as const
    }
    await Promise.all(ids.map((id) => deps.events?.changed(adapter, { asset_id: id }, entry(id, 1), entry(id, 2), false)))
    expect(queues.events.pending).toHaveLength(500)
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.refused).toEqual([])
    expect(hook.received).toHaveLength(500)
    expect(new Set(hook.received.map((r) => (r.event.asset as { asset_id: string }).asset_id))).toEqual(new Set(ids))
    expect(new Set(hook.received.map((r) => r.id)).size).toBe(500)
    expect(queues.deadLetters).toEqual([])
  }, 60_000)
})
