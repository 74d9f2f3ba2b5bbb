import { Lru } from '../cache/lru'
import { applyAssetEvent } from '../freshness/apply-event'
import type { Gateway } from '../http/app-env'
import { ApiError } from '../http/errors'
import type { IsolateState } from '../isolate-state'
import type { LookupDeps } from '../lookup'
import type { ProviderAdapter, ProviderEvent } from '../providers/types'
import { QUEUE_MAX_DELAY_S } from './types'

/**
 * A provider's webhook event kept on the provider events queue until it is applied: the asset
 * re-fetched or recorded, and its change announced. (A feed needs none: its cursor stays before an
 * event until that event is applied.)
 * `id` names this reception (the "applied" mark); `received_at` is when the gateway got it.
 */
export type ProviderEventMessage = {
  kind: 'provider-event'
  id: string
  provider: string
  event: ProviderEvent
  received_at: number
  source: 'webhook'
}

/**
 * The queue provider events wait on (wrangler.toml): its batches go to `consumeProviderEvents`, every
 * other queue's to `consumeEvents`, which applies a provider event too (one queued there before this
 * queue existed, or by a config without it), so a batch sent to the wrong handler is still applied.
 */
export const PROVIDER_EVENTS_QUEUE = 'asset-provider-events'

/**
 * Where provider events are queued: their own queue (`PROVIDER_EVENTS`), so that pacing them holds up
 * no fan-out or delivery; in a config from before it (no such binding), the events queue, as then.
 */
export function providerEventQueue(env: Env): Queue | undefined {
  const own: Queue | undefined = env.PROVIDER_EVENTS
  const shared: Queue | undefined = env.ASSET_EVENTS
  return own ?? shared
}

/** "Applied by the request's own attempt": in this isolate, and in KV for the consumer elsewhere. */
const APPLIED_PREFIX = 'pev-applied:'
const APPLIED_TTL_S = 3600
/** A rate-limited provider event waits for its slot without spending its retry budget, for this long after it arrived. */
const RATE_LIMITED_FOR_MS = 24 * 3600_000
/** Failures that no retry cures: the event is dropped (and logged). */
const PERMANENT = new Set(['upstream_rejected', 'provider_not_configured', 'invalid_id', 'invalid_query', 'unknown_query_parameter'])

export function isProviderEventMessage(body: unknown): body is ProviderEventMessage {
  const b = body as Partial<Record<string, unknown>> | null
  return (
    typeof b === 'object' &&
    b !== null &&
    b.kind === 'provider-event' &&
    typeof b.id === 'string' &&
    typeof b.provider === 'string' &&
    typeof b.received_at === 'number' &&
    typeof b.event === 'object' &&
    b.event !== null
  )
}

/** New queue messages for a provider's events, received now. */
export function providerEventMessages(provider: string, events: readonly ProviderEvent[], source: ProviderEventMessage['source']): ProviderEventMessage[] {
  const received_at = Date.now()
  return events.map((event) => ({ kind: 'provider-event', id: crypto.randomUUID(), provider, event, received_at, source }))
}

/**
 * Seconds a webhook's queued copy waits before the consumer looks at it: long enough for the
 * request's own attempt (one upstream deadline, its pacing wait included) to finish and mark it
 * applied, so the consumer then only acknowledges it.
 */
export function inlineGraceS(deps: LookupDeps): number {
  return Math.ceil(deps.config.upstreamTimeoutMs / 1000) + 2
}

function appliedMarks(isolate: IsolateState): Lru<string, number> {
  return isolate.slot('provider-events:applied', () => new Lru<string, number>({ max: 10_000 }))
}

async function markApplied(kv: KVNamespace, isolate: IsolateState, id: string): Promise<void> {
  appliedMarks(isolate).set(id, Date.now() + APPLIED_TTL_S * 1000)
  // Without the KV mark the consumer applies it again: one more upstream call, the same event (deduplicated).
  await kv.put(APPLIED_PREFIX + id, '1', { expirationTtl: APPLIED_TTL_S }).catch(() => {})
}

async function wasApplied(kv: KVNamespace, isolate: IsolateState, id: string): Promise<boolean> {
  if ((appliedMarks(isolate).get(id) ?? 0) > Date.now()) return true
  return (await kv.get(APPLIED_PREFIX + id).catch(() => null)) !== null
}

function errorText(gateway: Gateway, env: Env, err: unknown): string {
  return gateway.redactor.text(err instanceof ApiError ? `${err.code}: ${err.detail}` : String(err), env)
}

/**
 * The request's own attempt at a webhook's event, in its `waitUntil`, after the event is on the
 * queue: success marks it applied (the queued copy is then only acknowledged); a failure is left
 * to the queued copy (so is an isolate that goes away mid-way).
 */
export async function applyInline(
  deps: LookupDeps,
  gateway: Gateway,
  adapter: ProviderAdapter,
  message: ProviderEventMessage,
  requestId: string,
): Promise<void> {
  try {
    await applyAssetEvent(deps, adapter, message.event)
    await markApplied(deps.upstream.kv, deps.upstream.isolate, message.id)
  } catch (err) {
    const error = errorText(gateway, deps.upstream.env, err)
    console.warn(JSON.stringify({ level: 'warn', request_id: requestId, message: 'webhook event not applied yet: queued', type: message.event.type, error }))
  }
}

/** The wait a rate limit asked for (its Retry-After, seconds), or undefined when `err` is no rate limit. */
function rateLimitedS(err: unknown): number | undefined {
  if (!(err instanceof ApiError) || err.code !== 'upstream_rate_limited') return undefined
  const seconds = Number(err.headers['retry-after'])
  return Number.isFinite(seconds) && seconds > 0 ? seconds : 1
}

/** A wait spread by up to half again, so a burst rate-limited together does not come back together. */
function jittered(seconds: number): number {
  return Math.min(QUEUE_MAX_DELAY_S, Math.ceil(seconds * (1 + Math.random() / 2)))
}

export type ProviderEventDeps = { gateway: Gateway; env: Env; lookup: LookupDeps; maxAttempts: number; backoffS: (attempt: number) => number }

/**
 * One queued provider event: acknowledged when the request's own attempt applied it; else applied
 * here (re-fetch, change announced) and acknowledged. A rate limit (the gateway's own pacing or the
 * provider's 429) sends it again after its Retry-After, spread, without spending the retry budget
 * (to its own queue: one still on the events queue from before moves there);
 * other failures (5xx, deadline, a broken connection, an event that could not be sent) are retried
 * with `backoffS`, then dead-lettered; failures no retry cures drop it, logged.
 */
export async function consumeProviderEvent(deps: ProviderEventDeps, message: Message<unknown>, body: ProviderEventMessage): Promise<void> {
  const { lookup } = deps
  const { kv, isolate } = lookup.upstream
  if (await wasApplied(kv, isolate, body.id)) return message.ack()
  const adapter = lookup.providers.get(body.provider)
  if (!adapter) return message.ack()
  try {
    await applyAssetEvent(lookup, adapter, body.event)
    return message.ack()
  } catch (err) {
    const error = errorText(deps.gateway, deps.env, err)
    const base = { provider: body.provider, type: body.event.type, source: body.source, attempt: message.attempts, error }
    if (err instanceof ApiError && PERMANENT.has(err.code)) {
      console.error(JSON.stringify({ level: 'error', message: 'provider event dropped', ...base }))
      return message.ack()
    }
    const wait = rateLimitedS(err)
    const queue = providerEventQueue(deps.env)
    if (queue && wait !== undefined && Date.now() - body.received_at < RATE_LIMITED_FOR_MS) {
      const delaySeconds = jittered(wait)
      try {
        await queue.send(body, { delaySeconds })
        console.warn(JSON.stringify({ level: 'warn', message: 'provider event rate limited: queued again', ...base, retry_in_s: delaySeconds }))
        return message.ack()
      } catch {
        // the queue refused the copy: retry this message instead (it spends an attempt)
      }
    }
    const final = message.attempts >= deps.maxAttempts
    const delaySeconds = wait !== undefined ? jittered(wait) : deps.backoffS(message.attempts)
    console.error(
      JSON.stringify({
        level: final ? 'error' : 'warn',
        message: 'provider event not applied',
        ...base,
        ...(final ? { dead_lettered: true } : { retry_in_s: delaySeconds }),
      }),
    )
    if (final)
      message.retry() // past max_retries: Queues moves it to the dead-letter queue
    else message.retry({ delaySeconds })
  }
}
