// Asset events (issue 16): from a provider's webhook arriving to the subscriber's 2xx, under wrangler
// dev with its local Queues. One gateway whose Frame.io provider is a loopback upstream in this
// process (any UUID is an asset, its record changing with a per-id version), a receiver in this
// process that verifies each delivery with the `standardwebhooks` package, and one subscription
// for it made through the gateway's API with the development key. Each webhook names an asset never
// seen before, so it is one change and one event; the receiver matches deliveries by asset id.
import { createHash, createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { Webhook } from 'standardwebhooks'
import { AUTH, percentile, pool, round, tally } from './client.mjs'
import { sleep } from './processes.mjs'
import { SETTINGS } from './settings.mjs'
import { startGateway } from './targets.mjs'
import { benchId } from './upstream.mjs'

/** The gateway's FRAMEIO_WEBHOOK_SECRET for this run; the bench signs Frame.io's webhooks with it. */
const FRAMEIO_WEBHOOK_SECRET = 'bench-frameio-webhook-secret'
const FRAMEIO_TOKEN = 'bench'
/** Every media URL of a record expires at this one instant (2 h from the start), so a record's body changes only with its version. */
const EXPIRES_S = Math.floor(Date.now() / 1000) + 7200

/** A ready Frame.io file (API v2 `Asset`), version `version`, its media on CloudFront with canned-policy URLs. */
function frameioRecord(id, version) {
  const cf = (file) =>
    `https://d1bench.cloudfront.net/${id}/${file}?Expires=${EXPIRES_S}&Signature=${createHash('sha256').update(`${id}/${file}`).digest('hex')}&Key-Pair-Id=APKABENCH`
  return {
    id,
    _type: 'file',
    type: 'file',
    name: `bench-${id.slice(0, 8)}.mp4`,
    asset_type: 'stream',
    filetype: 'video/mp4',
    filesize: 10_485_760,
    label: 'needs_review',
    version,
    updated_at: new Date().toISOString(),
    inserted_at: '2026-01-23T04:56:07Z',
    upload_completed_at: '2026-01-23T04:56:09Z',
    transcoded_at: '2026-01-23T04:57:12Z',
    deleted_at: null,
    hard_deleted_at: null,
    original: cf('original.mp4'),
    thumb: cf('thumb.jpg'),
    h264_720: cf('h264_720.mp4'),
  }
}

const UUID_PATH = /^\/v2\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\?.*)?$/

/** Frame.io's `GET /v2/assets/{id}` on 127.0.0.1: every UUID is a ready file at its current version. */
function startFrameio() {
  const versions = new Map()
  const counts = { calls: 0 }
  /** When each asset was first asked for (performance.now()): the gateway's re-fetch after its webhook. */
  const asked = new Map()
  const server = http.createServer((req, res) => {
    const answer = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    const id = UUID_PATH.exec(req.url ?? '')?.[1]
    if (req.method !== 'GET' || !id) return answer(404, JSON.stringify({ code: 404, message: 'Not Found' }))
    if (req.headers.authorization !== `Bearer ${FRAMEIO_TOKEN}`) return answer(401, JSON.stringify({ code: 401, message: 'Unauthorized' }))
    counts.calls += 1
    if (!asked.has(id)) asked.set(id, performance.now())
    answer(200, JSON.stringify(frameioRecord(id, versions.get(id) ?? 1)))
  })
  server.keepAliveTimeout = 120_000
  /** The change a webhook announces: the asset's next version. */
  const bump = (id) => versions.set(id, (versions.get(id) ?? 1) + 1)
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, counts, asked, bump })))
}

/**
 * The subscriber: verifies every delivery (Standard Webhooks, with the subscription's secret once
 * known) and answers 204, or 401 when the signature does not verify. `onDelivery` sees each
 * verified delivery once its 204 has been written.
 */
function startReceiver() {
  const state = { secret: undefined, refused: 0, deliveries: [] }
  const server = http.createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let event
      try {
        event = new Webhook(state.secret).verify(body, req.headers)
      } catch {
        state.refused += 1
        res.writeHead(401).end('bad signature')
        return
      }
      res.on('finish', () => state.deliveries.push({ webhookId: String(req.headers['webhook-id']), event, at: performance.now() }))
      res.writeHead(204).end()
    })
  })
  server.keepAliveTimeout = 120_000
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, state })))
}

/** One request to the gateway: status, body, and when it was sent (performance.now()). */
function request(agent, port, method, path, body, headers) {
  return new Promise((resolve, reject) => {
    const sentAt = performance.now()
    const req = http.request(
      { host: '127.0.0.1', port, path, method, agent, headers: { ...headers, 'content-length': Buffer.byteLength(body ?? '') } },
      (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('error', reject)
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), sentAt, answeredAt: performance.now() }))
      },
    )
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** Polls `done` until it holds or `deadlineMs` passes; true when it held. */
async function until(done, deadlineMs) {
  const deadline = Date.now() + deadlineMs
  while (!done()) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/**
 * The events gateway and its two loopback peers, started before the measurement (the gateway's
 * Frame.io endpoint is the loopback upstream's port). Frame.io's pacing (5 calls a second per
 * account) is off unless SETTINGS.events.frameioMaxRps sets it: see docs/benchmarks.md.
 */
export async function startEvents(gatewayConfig, upstreamPort) {
  const [frameio, receiver] = await Promise.all([startFrameio(), startReceiver()])
  const gateway = await startGateway('gateway-events', gatewayConfig, upstreamPort, {
    FRAMEIO_BASE_URL: `http://127.0.0.1:${frameio.port}`,
    FRAMEIO_TOKEN,
    FRAMEIO_WEBHOOK_SECRET,
    UPSTREAM_MAX_RPS_FRAMEIO: String(SETTINGS.events.frameioMaxRps),
  })
  return { gateway, frameio, receiver }
}

/** The gateway's log, as written so far ('' without one). */
function gatewayLog(child) {
  try {
    return readFileSync(child.logPath, 'utf8')
  } catch {
    return ''
  }
}

/**
 * Lines of the gateway's log that say an event went missing on its way (or may have), by message.
 * "webhook event not applied yet: queued" is not one since provider events are durable: its queued
 * copy applies it (counted apart, as `appliedFromQueue`).
 */
function gatewayErrors(text) {
  const messages = ['webhook event not queued', 'provider event dropped', 'asset event not sent', 'event message failed']
  return Object.fromEntries(messages.map((m) => [m, text.split(m).length - 1]).filter(([, n]) => n > 0))
}

export async function eventsSection({ gateway, frameio, receiver }) {
  const s = SETTINGS.events
  const { agent, port } = gateway
  const json = { ...AUTH, 'content-type': 'application/json' }
  try {
    const created = await request(
      agent,
      port,
      'POST',
      '/subscriptions',
      JSON.stringify({ url: `http://127.0.0.1:${receiver.port}/`, providers: ['frameio'], description: 'npm run bench (events)' }),
      json,
    )
    if (created.status !== 201) throw new Error(`POST /subscriptions answered ${created.status}: ${created.body}`)
    const subscription = JSON.parse(created.body)
    receiver.state.secret = subscription.secret
    const { deliveries } = receiver.state

    // A ping first: the whole path (queue, consumer, receiver) is up before anything is timed.
    const ping = await request(agent, port, 'POST', `/subscriptions/${subscription.id}/test`, '', AUTH)
    if (ping.status !== 202) throw new Error(`POST /subscriptions/${subscription.id}/test answered ${ping.status}: ${ping.body}`)
    const pingId = JSON.parse(ping.body).event_id
    if (!(await until(() => deliveries.some((d) => d.event.id === pingId), s.deliveryDeadlineS * 1000)))
      throw new Error(`the ping never arrived within ${s.deliveryDeadlineS} s`)
    const pingMs = deliveries.find((d) => d.event.id === pingId).at - ping.sentAt

    /** Every webhook sent, by asset id. */
    const sent = new Map()
    const webhookAnswers = []
    const send = async (phase, id) => {
      frameio.bump(id)
      const body = JSON.stringify({ type: 'asset.updated', resource: { type: 'asset', id }, user: { id: 'bench-user' }, team: { id: 'bench-team' } })
      const timestamp = Math.floor(Date.now() / 1000)
      const signature = createHmac('sha256', FRAMEIO_WEBHOOK_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')
      const headers = { 'content-type': 'application/json', 'x-frameio-request-timestamp': String(timestamp), 'x-frameio-signature': `v0=${signature}` }
      const entry = { phase, sentAt: performance.now() }
      sent.set(id, entry)
      const res = await request(agent, port, 'POST', '/webhooks/frameio', body, headers)
      entry.sentAt = res.sentAt
      entry.answeredAt = res.answeredAt
      entry.status = res.status
      webhookAnswers.push(res.status)
    }
    const deliveredOf = (phase) => {
      const ids = new Set([...sent].filter(([, e]) => e.phase === phase).map(([id]) => id))
      return new Set(deliveries.map((d) => d.event.asset?.asset_id).filter((id) => ids.has(id))).size
    }
    const countOf = (phase) => [...sent.values()].filter((e) => e.phase === phase).length
    /**
     * Until every webhook of `phase` has its delivery; or, short of that, until nothing more has
     * arrived for `quietS` (a lost event never comes, and a retry comes 30 s later at the earliest),
     * or the phase's deadline passes. Paced (`frameioMaxRps` > 0), the phase's re-fetches alone take
     * count ÷ rps seconds (the burst's 200 at 5/s: 40 s), so the deadline grows by that much.
     */
    const settle = async (phase) => {
      let seen = deliveries.length
      let quietSince = performance.now()
      const pacedS = s.frameioMaxRps > 0 ? countOf(phase) / s.frameioMaxRps : 0
      await until(
        () => {
          if (deliveries.length > seen) [seen, quietSince] = [deliveries.length, performance.now()]
          return deliveredOf(phase) >= countOf(phase) || performance.now() - quietSince > s.quietS * 1000
        },
        (s.deliveryDeadlineS + pacedS) * 1000,
      )
    }

    // Warm-up: the Frame.io path through the webhook route, the lookup and both queue hops.
    await pool(
      Array.from({ length: s.warmup }, (_, i) => benchId('events-warmup', i)),
      1,
      (id) => send('warmup', id),
    )
    await settle('warmup')

    // Steady: one webhook every 1/rate s, each sent on its own schedule (not after the previous answer).
    const start = performance.now()
    const steady = []
    for (let i = 0; i < s.steady; i++) {
      const wait = start + (i * 1000) / s.steadyRps - performance.now()
      if (wait > 0) await sleep(wait)
      steady.push(send('steady', benchId('events-steady', i)))
    }
    await Promise.all(steady)
    await settle('steady')

    // Burst: all at once (as many at a time as the agent's sockets allow).
    await pool(
      Array.from({ length: s.burst }, (_, i) => benchId('events-burst', i)),
      s.burstConcurrency,
      (id) => send('burst', id),
    )
    await settle('burst')
    // Late duplicates (a message handled twice) arrive within a batch or two.
    await sleep(s.graceS * 1000)

    return summarize({ sent, deliveries, pingId, pingMs, webhookAnswers, receiver, frameio, gateway, subscription })
  } finally {
    receiver.server.closeAllConnections()
    receiver.server.close()
    frameio.server.closeAllConnections()
    frameio.server.close()
  }
}

function summarize({ sent, deliveries, pingId, pingMs, webhookAnswers, receiver, frameio, gateway }) {
  const s = SETTINGS.events
  const log = gatewayLog(gateway.child)
  const ms = (values) => ({ p50: round(percentile(values, 50), 0), p99: round(percentile(values, 99), 0), max: round(Math.max(...values), 0) })
  const byWebhookId = new Map()
  const byAsset = new Map()
  let unmatched = 0
  for (const d of deliveries) {
    if (d.event.id === pingId) continue
    byWebhookId.set(d.webhookId, (byWebhookId.get(d.webhookId) ?? 0) + 1)
    const id = d.event.asset?.asset_id
    if (!sent.has(id)) {
      unmatched += 1
      continue
    }
    const list = byAsset.get(id) ?? []
    list.push(d)
    byAsset.set(id, list)
  }
  const phase = (name) => {
    const entries = [...sent].filter(([, e]) => e.phase === name)
    const latencies = []
    const refetch = []
    let last = 0
    for (const [id, e] of entries) {
      if (frameio.asked.has(id)) refetch.push(frameio.asked.get(id) - e.sentAt)
      const first = byAsset.get(id)?.[0]
      if (!first) continue
      latencies.push(first.at - e.sentAt)
      last = Math.max(last, first.at)
    }
    const firstSent = Math.min(...entries.map(([, e]) => e.sentAt))
    const lastSent = Math.max(...entries.map(([, e]) => e.sentAt))
    return {
      sent: entries.length,
      delivered: latencies.length,
      latencyMs: ms(latencies),
      webhookAnswerMs: ms(entries.map(([, e]) => e.answeredAt - e.sentAt)),
      // From the webhook sent to the gateway's re-fetch reaching Frame.io.
      refetchMs: ms(refetch),
      sendingS: round((lastSent - firstSent) / 1000),
      // From the first webhook sent to the last of its deliveries.
      seconds: round((last - firstSent) / 1000),
      deliveriesPerS: round(latencies.length / ((last - firstSent) / 1000), 1),
    }
  }
  const steady = phase('steady')
  const burst = phase('burst')
  return {
    warmup: s.warmup,
    steadyRps: s.steadyRps,
    burstConcurrency: s.burstConcurrency,
    frameioMaxRps: s.frameioMaxRps,
    pingMs: round(pingMs, 0),
    steady,
    burst,
    sent: steady.sent + burst.sent,
    delivered: steady.delivered + burst.delivered,
    // Deliveries of one webhook-id beyond the first (at-least-once allows them).
    duplicates: [...byWebhookId.values()].reduce((sum, n) => sum + n - 1, 0),
    // Assets announced under more than one event id (one change should be one event).
    extraEvents: [...byAsset.values()].reduce((sum, list) => sum + new Set(list.map((d) => d.webhookId)).size - 1, 0),
    unmatched,
    refusedSignatures: receiver.state.refused,
    eventTypes: tally(deliveries.filter((d) => d.event.id !== pingId).map((d) => d.event.type)),
    webhookAnswers: tally(webhookAnswers),
    frameioCalls: frameio.counts.calls,
    // Webhooks whose own attempt failed (paced out, mostly), applied from the provider events queue.
    appliedFromQueue: log.split('webhook event not applied yet: queued').length - 1,
    gatewayErrors: gatewayErrors(log),
  }
}
