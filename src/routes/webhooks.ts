import { Hono } from 'hono/tiny'
import { applyInline, inlineGraceS, providerEventMessages, providerEventQueue } from '../events/provider-events'
import { forgetDelivery, seenBefore } from '../freshness/replay-guard'
import type { AppEnv } from '../http/app-env'
import { limitBody } from '../http/body-limit'
import { ApiError } from '../http/errors'
import type { ProviderRegistry } from '../providers/types'

/**
 * Provider webhooks at `POST /webhooks/<provider>`, one per provider with a webhook source; the
 * provider's signature, not a gateway key, authenticates them. Headers are checked before the
 * body is read, and the body is read only up to the provider's limit.
 */
export function webhookRoutes(providers: ProviderRegistry) {
  const webhooks = new Hono<AppEnv>()
  for (const adapter of providers.list) {
    const source = adapter.webhook
    if (!source) continue
    const path = `/webhooks/${adapter.name}`
    webhooks.post(
      path,
      async function signedOnly(c, next) {
        try {
          source.precheck(c.req.raw.headers, Date.now())
        } catch (err) {
          void c.req.raw.body?.cancel().catch(() => {}) // an unsigned upload is not read
          throw err
        }
        await next()
      },
      limitBody(source.maxBodyBytes, 'webhook_too_large'),
      async (c) => {
        c.get('log').provider = adapter.name
        const raw = await c.req.arrayBuffer()
        const delivery = await source.verify(c.req.raw.headers, raw, c.env, Date.now())
        let body: unknown
        try {
          body = JSON.parse(new TextDecoder().decode(raw))
        } catch {
          throw new ApiError('webhook_malformed', 'The webhook body is not JSON.')
        }
        const events = source.events(body)
        const { gateway, lookup } = c.get('services')
        const replayKey = `${adapter.name}:${delivery.replayKey}`
        if (await seenBefore(gateway.isolate, c.env.ASSET_KV, replayKey, source.replayWindowS, Date.now())) {
          throw new ApiError('webhook_replayed', 'This webhook delivery was already received.')
        }
        const type = typeof (body as { type?: unknown }).type === 'string' ? (body as { type: string }).type : undefined
        if (events.length === 0) return c.json({ received: true, ignored: true, type }, 202)
        const requestId = c.get('requestId')
        // The provider resends only what is not answered 2xx: keep the events on their queue first,
        // then answer (src/events/provider-events.ts). The queued copy waits until this request's
        // own attempt below has had its chance, and is applied (and retried) only if that failed.
        const messages = providerEventMessages(adapter.name, events, 'webhook')
        const queue = providerEventQueue(c.env)
        if (queue) {
          const delaySeconds = inlineGraceS(lookup)
          try {
            await queue.sendBatch(messages.map((message) => ({ body: message, delaySeconds })))
          } catch (err) {
            await forgetDelivery(gateway.isolate, c.env.ASSET_KV, replayKey)
            const error = gateway.redactor.text(String(err), c.env)
            console.error(JSON.stringify({ level: 'error', request_id: requestId, message: 'webhook event not queued', type, error }))
            throw new ApiError('webhook_not_queued', 'The gateway could not keep this delivery for processing; send it again.', {
              headers: { 'retry-after': '5' },
            })
          }
        }
        for (const message of messages) lookup.waitUntil(applyInline(lookup, gateway, adapter, message, requestId))
        return c.json({ received: true, type, effect: events[0]?.effect }, 202)
      },
    )
  }
  return webhooks
}
