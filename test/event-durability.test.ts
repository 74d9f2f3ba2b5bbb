import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { backoffS } from '../src/events/delivery'
import { providerEventMessages } from '../src/events/provider-events'
import { pollFeed } from '../src/freshness/cron'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { SAMPLE } from '../src/sandbox/samples'
import { receiver, type TestQueue, TestQueues } from './events-pipeline'
import {
  adapterOf,
  currentSandbox,
  DEV_KEY,
  expectProblem,
  freshIsolate,
  gumnutRecord,
  ORIGIN,
  resetState,
  run,
  sandboxStats,
  UPSTREAM,
  worldWorker,
} from './helpers'
import { expectWarnings } from './setup/leak-scan'

/**
 * Provider events are kept until applied (docs/events.md, "Durable provider events"): a webhook
 * whose re-fetch fails, or whose isolate goes away, still reaches the subscribers, once.
 */

beforeEach(resetState)
// Every test here fails a provider, a queue or a re-fetch on purpose: the gateway's warn lines
// about it are expected (captured and leak-scanned, not printed).
beforeEach(expectWarnings)

let queues: TestQueues
beforeEach(() => {
  queues = new TestQueues()
})

const SECRET = 'test-frameio-webhook-secret'
/** Frame.io's budget, scaled down: 1 call a second. */
const PACED = { UPSTREAM_MAX_RPS_FRAMEIO: '1' } as Partial<Env>
const nowS = () => Math.floor(Date.now() / 1000)

async function api(path: string, init: RequestInit = {}, patch: Partial<Env> = {}, fetcher?: typeof fetch): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${DEV_KEY}`)
  if (init.body) headers.set('content-type', 'application/json')
  return run(new Request(new URL(path, ORIGIN), { ...init, headers }), { env: queues.env(patch), ...(fetcher ? { fetch: fetcher } : {}) })
}

async function subscribe(body: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const response = await api('/subscriptions', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.test/in', ...body }) })
  expect(response.status).toBe(201)
  return (await response.json()) as { id: string; secret: string }
}

/** A subscriber, and the sample image cached, then changed at Frame.io: its webhook has a change to announce to `hook`. */
async function imageChanged() {
  const sub = await subscribe()
  await api(`/frameio/v2/assets/${SAMPLE.image}`)
  currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
  return { sub, hook: receiver(() => [sub.secret]) }
}

/** A signed Frame.io delivery, to send (and resend) as is. */
async function frameioDelivery(id: string, type = 'asset.updated') {
  const body = JSON.stringify({ type, resource: { type: 'asset', id }, user: { id: 'u' }, team: { id: 't' } })
  return { body, headers: await signFrameioWebhook(SECRET, body, nowS()) }
}

function post(delivery: { body: string; headers: Record<string, string> }, patch: Partial<Env> = {}, fetcher?: typeof fetch): Promise<Response> {
  return run(new Request(new URL('/webhooks/frameio', ORIGIN), { method: 'POST', ...delivery }), {
    env: queues.env(patch),
    ...(fetcher ? { fetch: fetcher } : {}),
  })
}

/** The kinds of the messages waiting on a test queue. */
const kinds = (queue: TestQueue) => queue.pending.map((m) => (m.body as { kind: string }).kind)
const assetIds = (hook: ReturnType<typeof receiver>) => hook.received.map((r) => (r.event.asset as { asset_id: string }).asset_id).sort()
const label = async (id: string) => ((await (await api(`/frameio/v2/assets/${id}`)).json()) as { label: string }).label

/**
 * Frame.io at `https://flaky.test/frameio`: the sandbox's answers, except that the asset calls
 * `fail` picks (by call number) get its answer instead; deliveries to `https://hooks.test` go to `hook`.
 */
function flakyFrameio(fail: (call: number) => Response | undefined, hook?: typeof fetch) {
  const state = { calls: 0 }
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    if (url.origin === 'https://hooks.test' && hook) return hook(request)
    if (url.origin !== 'https://flaky.test') throw new Error(`unexpected outbound call to ${request.url}`)
    state.calls += 1
    const failed = fail(state.calls)
    if (failed) return failed
    const real = `https://sandbox.asset-edge.test/__sandbox/frameio${url.pathname.replace(/^\/frameio/, '')}${url.search}`
    return currentSandbox().fetch(() => Promise.reject(new Error('no outbound')))(new Request(real, request))
  }
  return { fetcher, state, env: { FRAMEIO_BASE_URL: 'https://flaky.test/frameio' } as Partial<Env> }
}

describe('a Frame.io webhook whose re-fetch fails is not lost', () => {
  it('two webhooks at once, the second paced out (the repro): both changes reach the subscriber, once each', async () => {
    const sub = await subscribe()
    const ids = [SAMPLE.image, SAMPLE.video]
    for (const id of ids) expect((await api(`/frameio/v2/assets/${id}`)).status).toBe(200) // cached
    for (const id of ids) currentSandbox().state.change('frameio', id, { bump: true }) // both change at Frame.io
    // Frame.io's budget, scaled down: 1 call a second, so the second re-fetch is past its deadline (429).
    const deliveries = await Promise.all(ids.map((id) => frameioDelivery(id)))
    const answers = await Promise.all(deliveries.map((d) => post(d, PACED)))
    expect(answers.map((r) => r.status)).toEqual([202, 202])
    // Both new records are served afterwards (the paced-out one fetched by this lookup)...
    for (const id of ids) expect(await label(id)).toBe('needs_review')
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    // ...and both changes reached the subscriber, each once.
    expect(assetIds(hook)).toEqual([...ids].sort())
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated', 'asset.updated'])
    expect(queues.deadLetters).toEqual([])
  })

  it('paced out with no lookup after it: the queued copy applies it later, announced against the copy it replaced', async () => {
    const sub = await subscribe()
    const ids = [SAMPLE.image, SAMPLE.video]
    for (const id of ids) await api(`/frameio/v2/assets/${id}`)
    for (const id of ids) currentSandbox().state.change('frameio', id, { bump: true })
    const deliveries = await Promise.all(ids.map((id) => frameioDelivery(id)))
    expect((await Promise.all(deliveries.map((d) => post(d, PACED)))).map((r) => r.status)).toEqual([202, 202])
    // Each webhook's event went on the queue before the answer, held back while the request tried itself.
    // On their own queue; the events queue holds only the fan-out of the change applied at once.
    expect(kinds(queues.providerEvents)).toEqual(['provider-event', 'provider-event'])
    expect(kinds(queues.events)).toEqual(['event'])
    expect(queues.providerEvents.sendDelays[0]).toBeGreaterThan(0)
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(assetIds(hook)).toEqual([...ids].sort())
    for (const r of hook.received) expect((r.event.record as { label: string }).label).toBe('needs_review')
    expect(queues.deadLetters).toEqual([])
  })

  it('rate limited by Frame.io (429 with Retry-After): queued again after that wait, then delivered once', async () => {
    const { hook } = await imageChanged()
    // The webhook's own re-fetch and the consumer's first are refused.
    const flaky = flakyFrameio(
      (n) => (n <= 2 ? Response.json({ errors: [{ detail: 'slow down' }] }, { status: 429, headers: { 'retry-after': '7' } }) : undefined),
      hook.fetcher,
    )
    expect((await post(await frameioDelivery(SAMPLE.image), flaky.env, flaky.fetcher)).status).toBe(202)
    await queues.drain(flaky.fetcher, 1000, flaky.env)
    expect(flaky.state.calls).toBe(3)
    expect(hook.received).toHaveLength(1)
    expect(hook.received[0]?.event).toMatchObject({ type: 'asset.updated', asset: { asset_id: SAMPLE.image }, record: { label: 'needs_review' } })
    // Queued again with Retry-After, spread by up to half again; the retry budget is not spent on it.
    const again = queues.providerEvents.sendDelays.filter((d) => d >= 7)
    expect(again).toHaveLength(1)
    expect(again[0]).toBeLessThanOrEqual(11)
    expect(queues.providerEvents.delays).toEqual([])
    expect(queues.deadLetters).toEqual([])
  })

  it('a provider 5xx on the re-fetch: retried with backoff until Frame.io answers, then delivered once', async () => {
    const { hook } = await imageChanged()
    // Down for the webhook's own attempt and the consumer's first two.
    const flaky = flakyFrameio((n) => (n <= 3 ? Response.json({ message: 'internal' }, { status: 500 }) : undefined), hook.fetcher)
    expect((await post(await frameioDelivery(SAMPLE.image), flaky.env, flaky.fetcher)).status).toBe(202)
    await queues.drain(flaky.fetcher, 1000, flaky.env)
    expect(flaky.state.calls).toBe(4)
    expect(queues.providerEvents.delays).toEqual([backoffS(1), backoffS(2)])
    expect(hook.received).toHaveLength(1)
    expect(hook.received[0]?.event).toMatchObject({ type: 'asset.updated', record: { label: 'needs_review' } })
    expect(queues.deadLetters).toEqual([])
  })

  it('lookups while the provider is down get the old copy only as stale-if-error, and the change is still announced once', async () => {
    const { hook } = await imageChanged()
    let down = true
    const flaky = flakyFrameio(() => (down ? Response.json({ message: 'internal' }, { status: 503 }) : undefined), hook.fetcher)
    expect((await post(await frameioDelivery(SAMPLE.image), flaky.env, flaky.fetcher)).status).toBe(202)
    const during = await api(`/frameio/v2/assets/${SAMPLE.image}`, {}, flaky.env, flaky.fetcher)
    expect(during.headers.get('cache-status')).toMatch(/stale-if-error/)
    down = false
    const after = await api(`/frameio/v2/assets/${SAMPLE.image}`, {}, flaky.env, flaky.fetcher)
    expect(((await after.json()) as { label: string }).label).toBe('needs_review')
    await queues.drain(flaky.fetcher, 1000, flaky.env)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect(queues.deadLetters).toEqual([])
  })
})

describe('the webhook answers 2xx only once its event is kept', () => {
  it('a queue send failure answers 503 (not marked as received), and the resent delivery is accepted and delivered once', async () => {
    const { hook } = await imageChanged()
    const delivery = await frameioDelivery(SAMPLE.image)
    queues.providerEvents.failSends = 1
    const refused = await post(delivery)
    const problem = await expectProblem(refused, 503, 'webhook_not_queued')
    expect(refused.headers.get('retry-after')).toBe('5')
    expect(String(problem.detail)).toMatch(/send it again/)
    expect(await label(SAMPLE.image)).toBe('in_progress') // nothing applied: Frame.io will send it again
    const resent = await post(delivery) // Frame.io's retry: the same signed delivery
    expect(resent.status).toBe(202)
    await expectProblem(await post(delivery), 401, 'webhook_replayed') // accepted once
    await queues.drain(hook.fetcher)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect(await label(SAMPLE.image)).toBe('needs_review')
  })

  it('applied by the request itself: its queued copy is acknowledged without another upstream call (another isolate too), one event', async () => {
    const { hook } = await imageChanged()
    expect((await post(await frameioDelivery(SAMPLE.image))).status).toBe(202)
    const calls = sandboxStats.calls('frameio')
    freshIsolate() // the consumer runs elsewhere: only the KV mark tells it
    await queues.drain(hook.fetcher)
    expect(sandboxStats.calls('frameio')).toBe(calls)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
  })

  it('the isolate goes away before applying it: the queued copy applies it, one event', async () => {
    const { hook } = await imageChanged()
    const delivery = await frameioDelivery(SAMPLE.image)
    // Played by a webhook whose own attempt never runs: Frame.io unreachable for it only.
    const gone = flakyFrameio(() => {
      throw new TypeError('Network connection lost.')
    })
    expect((await post(delivery, gone.env, gone.fetcher)).status).toBe(202)
    await queues.drain(hook.fetcher)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect(hook.received[0]?.event.record).toMatchObject({ label: 'needs_review' })
    expect(queues.deadLetters).toEqual([])
  })
})

describe('provider events have a queue of their own', () => {
  it('a delivery is consumed while a provider event is still being applied (its re-fetch held up at the provider)', async () => {
    const { sub, hook } = await imageChanged()
    // The webhook's own attempt fails (500): its event waits on the provider events queue.
    const flaky = flakyFrameio((n) => (n === 1 ? Response.json({ message: 'internal' }, { status: 500 }) : undefined), hook.fetcher)
    expect((await post(await frameioDelivery(SAMPLE.image), flaky.env, flaky.fetcher)).status).toBe(202)
    // A ping: one delivery on the events queue.
    expect((await api(`/subscriptions/${sub.id}/test`, { method: 'POST' })).status).toBe(202)
    expect(queues.providerEvents.pending).toHaveLength(1)
    expect(kinds(queues.events)).toEqual(['delivery'])

    // Frame.io holds the consumer's re-fetch until released (a paced or slow provider, played).
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let reached = () => {}
    const atFrameio = new Promise<void>((resolve) => {
      reached = resolve
    })
    const held: typeof fetch = async (input, init) => {
      if (new URL(input instanceof Request ? input.url : String(input)).origin === 'https://flaky.test') {
        reached()
        await released
      }
      return flaky.fetcher(input, init)
    }
    const { handler } = worldWorker({ fetch: held })
    const slow = { ...flaky.env, UPSTREAM_TIMEOUT_MS: '10000' } as Partial<Env>
    let providerBatchDone = false
    const providerBatch = queues.providerEvents.pumpOnce(handler, queues.env(slow)).then(() => {
      providerBatchDone = true
    })
    await atFrameio
    // The events queue's batch runs to its end meanwhile: the ping is delivered and acknowledged.
    await queues.events.pumpOnce(handler, queues.env(slow))
    expect(hook.received.map((r) => r.event.type)).toEqual(['ping'])
    expect(queues.events.pending).toEqual([])
    expect(providerBatchDone).toBe(false)

    release()
    await providerBatch
    await queues.drain(flaky.fetcher, 1000, flaky.env)
    expect(hook.received.map((r) => r.event.type)).toEqual(['ping', 'asset.updated'])
    expect(hook.received[1]?.event.record).toMatchObject({ label: 'needs_review' })
    expect(queues.deadLetters).toEqual([])
  })

  it('without the PROVIDER_EVENTS binding (an older config) the event goes on the events queue, whose consumer applies it: delivered once', async () => {
    const { hook } = await imageChanged()
    const flaky = flakyFrameio((n) => (n === 1 ? Response.json({ message: 'internal' }, { status: 500 }) : undefined), hook.fetcher)
    const older = { ...flaky.env, PROVIDER_EVENTS: undefined } as Partial<Env>
    expect((await post(await frameioDelivery(SAMPLE.image), older, flaky.fetcher)).status).toBe(202)
    expect(queues.providerEvents.sendDelays).toEqual([])
    expect(kinds(queues.events)).toEqual(['provider-event'])
    expect(queues.events.sendDelays[0]).toBeGreaterThan(0)
    await queues.drain(flaky.fetcher, 1000, older)
    expect(flaky.state.calls).toBe(2)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect(queues.deadLetters).toEqual([])
  })

  it('a provider event still on the events queue (queued before the split) is applied there; rate limited, it moves to its own queue', async () => {
    const { hook } = await imageChanged()
    const flaky = flakyFrameio(
      (n) => (n === 1 ? Response.json({ errors: [{ detail: 'slow down' }] }, { status: 429, headers: { 'retry-after': '3' } }) : undefined),
      hook.fetcher,
    )
    const { body } = await frameioDelivery(SAMPLE.image)
    const events = adapterOf('frameio').webhook?.events(JSON.parse(body)) ?? []
    expect(events).toHaveLength(1)
    for (const message of providerEventMessages('frameio', events, 'webhook')) await queues.events.binding.send(message)
    await queues.drain(flaky.fetcher, 1000, flaky.env)
    expect(flaky.state.calls).toBe(2)
    expect(queues.providerEvents.sendDelays).toHaveLength(1) // the rate-limited copy, on its own queue
    expect(queues.providerEvents.sendDelays[0]).toBeGreaterThanOrEqual(3)
    expect(hook.received.map((r) => r.event.type)).toEqual(['asset.updated'])
    expect(queues.deadLetters).toEqual([])
  })

  it('a fan-out found on the provider events queue (a dead letter replayed to the wrong queue) is moved to the events queue and delivered', async () => {
    const sub = await subscribe()
    const event = { id: 'evt_misplaced', type: 'ping', occurred_at: new Date().toISOString() }
    await queues.providerEvents.binding.send({ kind: 'delivery', subscription: sub.id, event })
    await queues.providerEvents.binding.send({ kind: 'something else' })
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(queues.events.sendDelays).toEqual([0]) // moved by the provider events consumer (picked by the batch's queue name)
    expect(hook.received.map((r) => r.id)).toEqual(['evt_misplaced'])
    expect(queues.deadLetters).toEqual([])
  })
})

describe("Gumnut's feed", () => {
  it('an event whose re-fetch fails holds the cursor; a lookup in between announces the change, the next run adds none', async () => {
    const sub = await subscribe({ providers: ['gumnut'] })
    let description = 'first'
    let down = false
    const events = [{ created_at: '2026-11-23T00:00:00Z', cursor: 'c1', entity_id: 'asset_one', entity_type: 'asset', event_type: 'asset_updated' }]
    const upstream: typeof fetch = async (input, init) => {
      const url = new URL(new Request(input, init).url)
      if (url.origin !== UPSTREAM) throw new Error(`unexpected outbound call to ${url.origin}`)
      if (url.pathname === '/api/events') return Response.json({ data: url.searchParams.get('after_cursor') ? [] : events, has_more: false })
      if (down) return Response.json({ detail: 'down' }, { status: 500 })
      const id = url.pathname.split('/').pop() ?? ''
      return Response.json(gumnutRecord(id, { description }))
    }
    const patch = { GUMNUT_BASE_URL: UPSTREAM } as Partial<Env>
    expect((await api('/gumnut/api/assets/asset_one', {}, patch, upstream)).status).toBe(200) // cached: "first"
    description = 'second'
    down = true
    const { deps, settled } = queues.cronDeps(patch, upstream)
    await expect(pollFeed(deps, adapterOf('gumnut'))).rejects.toThrow()
    await settled()
    expect(await env.ASSET_KV.get('gumnut:events-cursor')).toBeNull()
    down = false
    const looked = await api('/gumnut/api/assets/asset_one', {}, patch, upstream) // fetches "second" (the old copy was demoted)
    expect(((await looked.json()) as { description: string }).description).toBe('second')
    expect(await pollFeed(deps, adapterOf('gumnut'))).toMatchObject({ applied: 1 })
    await settled()
    const hook = receiver(() => [sub.secret])
    await queues.drain(hook.fetcher)
    expect(hook.received.map((r) => [r.event.type, (r.event.record as { description: string }).description])).toEqual([['asset.updated', 'second']])
  })
})
