import { Hono } from 'hono'
import { applyAssetEvent } from '../freshness/apply-event'
import { frameioEffect } from '../freshness/frameio-events'
import { verifyFrameioSignature, WEBHOOK_TOLERANCE_S } from '../freshness/frameio-signature'
import { seenBefore } from '../freshness/replay-guard'
import { ApiError } from '../http/problem'
import { configuredSecrets, redactText } from '../http/redact'
import type { LookupDeps } from '../lookup'
import { isObject } from '../providers/record'

type WebhookEnv = { Bindings: Env; Variables: { lookup: LookupDeps; requestId: string } }

const MAX_BODY_BYTES = 64 * 1024
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Provider webhooks; the signature, not a gateway key, authenticates them. */
export const webhooks = new Hono<WebhookEnv>()

webhooks.post('/webhooks/frameio', async (c) => {
  const declared = Number(c.req.header('content-length') ?? 0)
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, 'webhook_too_large', `Webhook bodies are limited to ${MAX_BODY_BYTES} bytes.`)
  const raw = await c.req.arrayBuffer()
  if (raw.byteLength > MAX_BODY_BYTES) throw new ApiError(413, 'webhook_too_large', `Webhook bodies are limited to ${MAX_BODY_BYTES} bytes.`)

  const secrets = [c.env.FRAMEIO_WEBHOOK_SECRET, c.env.FRAMEIO_WEBHOOK_SECRET_PREVIOUS].filter((s): s is string => Boolean(s))
  const { timestamp, signature } = await verifyFrameioSignature(c.req.raw.headers, raw, secrets, Date.now())

  let event: unknown
  try {
    event = JSON.parse(new TextDecoder().decode(raw))
  } catch {
    throw new ApiError(400, 'webhook_malformed', 'The webhook body is not JSON.')
  }
  const type = isObject(event) ? event.type : undefined
  const resource = isObject(event) ? event.resource : undefined
  if (typeof type !== 'string' || !isObject(resource) || typeof resource.id !== 'string') {
    throw new ApiError(400, 'webhook_malformed', 'The webhook body lacks `type` or `resource.id`.')
  }
  if (await seenBefore(c.env.ASSET_KV, timestamp, signature, WEBHOOK_TOLERANCE_S * 2, Date.now())) {
    throw new ApiError(401, 'webhook_replayed', 'This webhook delivery was already received.')
  }

  const effect = resource.type === 'asset' || resource.type === undefined ? frameioEffect(type) : undefined
  if (!effect) return c.json({ received: true, ignored: true, type }, 202)
  if (!UUID.test(resource.id)) throw new ApiError(400, 'webhook_malformed', '`resource.id` is not a Frame.io asset id.')

  const lookup = c.var.lookup
  const requestId = c.var.requestId
  // Answer at once; the invalidation and re-fetch continue after the response.
  lookup.waitUntil(
    applyAssetEvent(lookup, { provider: 'frameio', ids: { asset_id: resource.id }, effect }).catch((err: unknown) => {
      console.error(JSON.stringify({ level: 'error', request_id: requestId, message: 'webhook event not applied', type, error: redactText(String(err), configuredSecrets(c.env)) }))
    }),
  )
  return c.json({ received: true, type, effect }, 202)
})
