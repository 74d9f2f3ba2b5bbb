import { Hono } from 'hono/tiny'
import { applyAssetEvent } from '../freshness/apply-event'
import { seenBefore } from '../freshness/replay-guard'
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
        const { replayKey } = await source.verify(c.req.raw.headers, raw, c.env, Date.now())
        let body: unknown
        try {
          body = JSON.parse(new TextDecoder().decode(raw))
        } catch {
          throw new ApiError('webhook_malformed', 'The webhook body is not JSON.')
        }
        const events = source.events(body)
        const { gateway, lookup } = c.get('services')
        if (await seenBefore(gateway.isolate, c.env.ASSET_KV, `${adapter.name}:${replayKey}`, source.replayWindowS, Date.now())) {
          throw new ApiError('webhook_replayed', 'This webhook delivery was already received.')
        }
        const type = typeof (body as { type?: unknown }).type === 'string' ? (body as { type: string }).type : undefined
        if (events.length === 0) return c.json({ received: true, ignored: true, type }, 202)
        const requestId = c.get('requestId')
        // Answer at once; the invalidation and re-fetch continue after the response.
        for (const event of events) {
          lookup.waitUntil(
            applyAssetEvent(lookup, adapter, event).catch((err: unknown) => {
              const error = gateway.redactor.text(String(err), c.env)
              console.error(JSON.stringify({ level: 'error', request_id: requestId, message: 'webhook event not applied', type: event.type, error }))
            }),
          )
        }
        return c.json({ received: true, type, effect: events[0]?.effect }, 202)
      },
    )
  }
  return webhooks
}
