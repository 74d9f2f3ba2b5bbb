import type { Gateway } from '../http/app-env'
import { hasProviderScope, KEY_PREFIX, type KeyRecord } from '../http/auth'
import type { LookupDeps } from '../lookup'
import { destinationProblem } from './destination'
import type { PackedMessage } from './emit'
import { consumeProviderEvent, isProviderEventMessage, type ProviderEventMessage } from './provider-events'
import { activeSecrets, signatureHeaders } from './signing'
import { getEvent, getSubscription, listSubscriptionMetas, putAttempt, putEvent } from './store'
import { type AssetEvent, type AssetEventType, type DeliveryAttempt, QUEUE_MAX_DELAY_S, type StoredSubscription, type SubscriptionMeta } from './types'

/** Attempts per delivery, the first included: keep in step with `max_retries` (+1) in wrangler.toml. */
export const MAX_ATTEMPTS = 9
/** One attempt's deadline, the receiver's answer included. */
export const ATTEMPT_TIMEOUT_MS = 10_000
/** Bytes of the receiver's answer kept in the delivery log. */
const ANSWER_BYTES = 1024

/** Seconds to wait after failed attempt `attempt` (1-based): 30 s × 3ⁿ⁻¹, at most 12 h; 8 waits ≈ 21 h. */
export function backoffS(attempt: number): number {
  return Math.min(30 * 3 ** Math.max(0, attempt - 1), QUEUE_MAX_DELAY_S)
}

/** `lookup`: the lookup services, for provider events (made on first use, once per batch). */
type Deps = { gateway: Gateway; env: Env; lookup?: () => LookupDeps }

/** The event a message carries, inline or from its KV copy. */
async function eventOf(kv: KVNamespace, message: PackedMessage): Promise<AssetEvent | null> {
  return 'event' in message ? message.event : getEvent<AssetEvent>(kv, message.ref)
}

/** The gateway key a subscription was made with, as it is now (revoked: null). */
async function keyOf(deps: Deps, digest: string): Promise<KeyRecord | null> {
  return (await deps.gateway.resolveKey?.(deps.env, digest)) ?? (await deps.env.ASSET_KV.get<KeyRecord>(KEY_PREFIX + digest, 'json'))
}

/** True when a subscription (its filters, and its key as it is now) is to receive `event`. */
function wants(meta: SubscriptionMeta, key: KeyRecord | null, event: AssetEvent): boolean {
  if (event.type === 'ping') return true
  if (!key?.scopes.events || !event.provider) return false
  return meta.providers.includes(event.provider) && meta.types.includes(event.type as AssetEventType) && hasProviderScope(key, event.provider)
}

/** What one batch reads once for all its fan-outs: the subscriptions, and their keys as they are now. */
type BatchLookups = { subscriptions?: ReturnType<typeof listSubscriptionMetas>; keys: Map<string, Promise<KeyRecord | null>> }

/** One event → one delivery message per subscription that wants it. */
async function fanOut(deps: Deps, message: PackedMessage, batch: BatchLookups): Promise<void> {
  const kv = deps.env.ASSET_KV
  const event = await eventOf(kv, message)
  if (!event) return
  const targets: string[] = []
  const { keys } = batch
  batch.subscriptions ??= listSubscriptionMetas(kv)
  for (const { id, meta } of await batch.subscriptions) {
    let key = keys.get(meta.key_digest)
    if (!key) {
      key = keyOf(deps, meta.key_digest)
      keys.set(meta.key_digest, key)
    }
    if (wants(meta, await key, event)) targets.push(id)
  }
  if (targets.length === 0) return
  if ('event' in message) await putEvent(kv, event) // kept for redelivery (a referenced event is stored already)
  const carried = 'event' in message ? { event } : { ref: message.ref }
  const deliveries = targets.map((subscription) => ({ body: { kind: 'delivery', subscription, ...carried } as PackedMessage }))
  // sendBatch takes at most 100 messages and 256 KB.
  const size = JSON.stringify(carried).length + 100
  const perBatch = Math.max(1, Math.min(100, Math.floor(200_000 / size)))
  for (let i = 0; i < deliveries.length; i += perBatch) await deps.env.ASSET_EVENTS.sendBatch(deliveries.slice(i, i + perBatch))
}

/** The first `max` bytes of an answer, as text; the rest is not read. */
async function answerHead(response: Response, max = ANSWER_BYTES): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    while (size < max) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      size += value.byteLength
    }
  } finally {
    reader.cancel().catch(() => {})
  }
  const bytes = new Uint8Array(Math.min(size, max))
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk.subarray(0, bytes.length - at), at)
    at += Math.min(chunk.byteLength, bytes.length - at)
  }
  return new TextDecoder().decode(bytes)
}

/** POSTs one event to one subscription, signed; the attempt as the delivery log keeps it. */
export async function attempt(deps: Deps, sub: StoredSubscription, event: AssetEvent, attemptNo: number): Promise<DeliveryAttempt> {
  const started = Date.now()
  const base = { event_id: event.id, event_type: event.type, attempt: attemptNo, at: new Date(started).toISOString() }
  const refused = destinationProblem(sub.url, deps.gateway.sandbox)
  if (refused) return { ...base, status: null, ok: false, latency_ms: 0, response: '', error: refused }
  const body = JSON.stringify(event)
  const secrets = activeSecrets(sub.secrets, started).map((s) => s.secret)
  const headers = await signatureHeaders(event.id, Math.floor(started / 1000), body, secrets)
  try {
    const response = await deps.gateway.fetch(sub.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'asset-edge-webhooks/1' },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    })
    const answer = await answerHead(response)
    const ok = response.status >= 200 && response.status < 300
    return { ...base, status: response.status, ok, latency_ms: Date.now() - started, response: answer }
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
    return {
      ...base,
      status: null,
      ok: false,
      latency_ms: Date.now() - started,
      response: '',
      error: timedOut ? `no answer within ${ATTEMPT_TIMEOUT_MS} ms` : 'the request failed',
    }
  }
}

/** One delivery message: send, log, then ack, retry later, or (budget spent) let Queues dead-letter it. */
async function deliver(deps: Deps, message: Message<unknown>, body: PackedMessage & { kind: 'delivery' }): Promise<void> {
  const kv = deps.env.ASSET_KV
  const [sub, event] = await Promise.all([getSubscription(kv, body.subscription), eventOf(kv, body)])
  if (!sub || !event) return message.ack() // deleted since, or the event expired
  if (event.type !== 'ping' && !wants(sub, await keyOf(deps, sub.key_digest), event)) return message.ack() // its key lost the scope
  const result = await attempt(deps, sub, event, message.attempts)
  const final = !result.ok && message.attempts >= MAX_ATTEMPTS
  await putAttempt(kv, sub.id, { ...result, ...(final ? { dead_lettered: true } : {}), ...(body.redelivery ? { redelivery: true } : {}) }, Date.now())
  if (result.ok) message.ack()
  else if (final)
    message.retry() // past max_retries: Queues moves it to the dead-letter queue
  else message.retry({ delaySeconds: backoffS(message.attempts) })
}

function isPacked(body: unknown): body is PackedMessage {
  const b = body as Partial<Record<string, unknown>> | null
  return (
    typeof b === 'object' &&
    b !== null &&
    (b.kind === 'event' || (b.kind === 'delivery' && typeof b.subscription === 'string')) &&
    ('event' in b || typeof b.ref === 'string')
  )
}

type ProviderEventItem = { message: Message<unknown>; body: ProviderEventMessage }

/**
 * Provider events (applied, then announced), each message on its own. Those of one provider run at
 * most its calls-a-second budget (`UPSTREAM_MAX_RPS_<PROVIDER>`) at a time: each then waits for its
 * turn within its deadline instead of a burst of them being refused by the pacing and re-queued.
 */
async function applyProviderEvents(deps: Deps, items: readonly ProviderEventItem[]): Promise<void> {
  const byProvider = new Map<string, ProviderEventItem[]>()
  for (const item of items) {
    const group = byProvider.get(item.body.provider)
    if (group) group.push(item)
    else byProvider.set(item.body.provider, [item])
  }
  let lookup: LookupDeps | undefined
  const applyOne = async ({ message, body }: ProviderEventItem) => {
    try {
      lookup ??= deps.lookup?.()
      if (!lookup) throw new Error('no lookup services to apply a provider event with')
      await consumeProviderEvent({ gateway: deps.gateway, env: deps.env, lookup, maxAttempts: MAX_ATTEMPTS, backoffS }, message, body)
    } catch (err) {
      console.error(JSON.stringify({ level: 'error', message: 'event message failed', kind: body.kind, error: String(err) }))
      message.retry({ delaySeconds: backoffS(message.attempts) })
    }
  }
  await Promise.all(
    [...byProvider].map(async ([provider, group]) => {
      const rps = deps.gateway.config(deps.env).provider(provider)?.maxRps ?? 0
      const width = rps > 0 ? Math.max(1, Math.floor(rps)) : group.length
      let next = 0
      await Promise.all(
        Array.from({ length: Math.min(width, group.length) }, async () => {
          while (next < group.length) {
            const item = group[next++]
            if (item) await applyOne(item)
          }
        }),
      )
    }),
  )
}

/**
 * The Worker's `queue` handler for the provider events queue (`PROVIDER_EVENTS_QUEUE`): provider
 * events, paced per provider (`applyProviderEvents`). A queue of their own, so that a batch of
 * paced events (seconds long) holds up no fan-out or delivery. The code sends nothing else there;
 * a fan-out or delivery that arrives anyway (a dead letter replayed to the wrong queue) is moved to
 * the events queue, anything else is logged and dropped rather than retried forever.
 */
export async function consumeProviderEvents(deps: Deps, batch: MessageBatch<unknown>): Promise<void> {
  const items: ProviderEventItem[] = []
  const misplaced: Promise<void>[] = []
  for (const message of batch.messages) {
    const body = message.body
    if (isProviderEventMessage(body)) items.push({ message, body })
    else if (isPacked(body)) misplaced.push(moveToEvents(deps, message, body))
    else {
      console.error(JSON.stringify({ level: 'error', message: 'not a provider event: dropped', queue: batch.queue }))
      message.ack()
    }
  }
  await Promise.all([applyProviderEvents(deps, items), ...misplaced])
}

async function moveToEvents(deps: Deps, message: Message<unknown>, body: PackedMessage): Promise<void> {
  try {
    await deps.env.ASSET_EVENTS.send(body)
    message.ack()
  } catch {
    message.retry({ delaySeconds: backoffS(message.attempts) })
  }
}

/**
 * The Worker's `queue` handler for the events queue: fan-outs and deliveries, each message on its
 * own. Provider events found here (queued before they had a queue of their own, or by a config
 * without `PROVIDER_EVENTS`) are applied as on their own queue, paced per provider.
 */
export async function consumeEvents(deps: Deps, batch: MessageBatch<unknown>): Promise<void> {
  const lookups: BatchLookups = { keys: new Map() }
  const providerEvents: ProviderEventItem[] = []
  const others: Message<unknown>[] = []
  for (const message of batch.messages) {
    const body = message.body
    if (isProviderEventMessage(body)) providerEvents.push({ message, body })
    else others.push(message)
  }
  await Promise.all([
    applyProviderEvents(deps, providerEvents),
    ...others.map(async (message) => {
      const body = message.body
      if (!isPacked(body)) return message.ack() // not ours: dropped rather than retried forever
      try {
        if (body.kind === 'event') {
          await fanOut(deps, body, lookups)
          message.ack()
        } else {
          await deliver(deps, message, body)
        }
      } catch (err) {
        console.error(JSON.stringify({ level: 'error', message: 'event message failed', kind: body.kind, error: String(err) }))
        message.retry({ delaySeconds: backoffS(message.attempts) })
      }
    }),
  ])
}
