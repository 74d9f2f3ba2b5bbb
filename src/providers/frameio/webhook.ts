import { toHex } from '../../encoding'
import { ApiError } from '../../http/errors'
import { isObject } from '../record'
import type { EventEffect, WebhookSource } from '../types'

/** How far a webhook's timestamp may be from now, either way (seconds). */
export const WEBHOOK_TOLERANCE_S = 300
const MAX_BODY_BYTES = 64 * 1024
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const SIGNATURE = /^v0=([0-9a-f]{64})$/i

/** Frame.io webhook event types and their effect; any other `asset.*` only invalidates. */
const EFFECTS: Record<string, EventEffect> = {
  'asset.ready': 'rewarm',
  'asset.updated': 'rewarm',
  'asset.label.updated': 'rewarm',
  'asset.versioned': 'rewarm',
  'asset.deleted': 'deleted',
  'asset.created': 'invalidate',
  'asset.copied': 'invalidate',
}

const encoder = new TextEncoder()

function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16))
}

/** Secrets a delivery may be signed with: the current one and, during a rotation, the previous one. */
function secretsOf(env: Env): string[] {
  return [env.FRAMEIO_WEBHOOK_SECRET, env.FRAMEIO_WEBHOOK_SECRET_PREVIOUS].filter((s): s is string => Boolean(s))
}

/** The timestamp and signature headers, checked for form and age; throws 401 otherwise. */
function signatureHeaders(headers: Headers, now: number): { timestamp: string; signature: string } {
  const timestamp = headers.get('x-frameio-request-timestamp')
  const signatureHeader = headers.get('x-frameio-signature')
  if (!timestamp || !signatureHeader) throw new ApiError('webhook_unsigned', 'The request carries no Frame.io signature.')
  if (!/^\d{1,12}$/.test(timestamp)) throw new ApiError('webhook_bad_timestamp', 'X-Frameio-Request-Timestamp is not a unix time.')
  if (Math.abs(now / 1000 - Number(timestamp)) > WEBHOOK_TOLERANCE_S) {
    throw new ApiError('webhook_stale', 'The webhook timestamp is more than 5 minutes away from now.')
  }
  const signature = SIGNATURE.exec(signatureHeader.trim())?.[1]
  if (!signature) throw new ApiError('webhook_bad_signature', 'The Frame.io signature is malformed.')
  return { timestamp, signature: signature.toLowerCase() }
}

/**
 * Frame.io's signed webhooks: `X-Frameio-Signature: v0=<hex>` = HMAC-SHA256(secret,
 * `v0:{timestamp}:{raw body}`), checked with `crypto.subtle.verify` (constant time) against each
 * configured secret, and `X-Frameio-Request-Timestamp` within 5 minutes of now.
 */
export const frameioWebhook: WebhookSource = {
  maxBodyBytes: MAX_BODY_BYTES,
  replayWindowS: WEBHOOK_TOLERANCE_S * 2,

  precheck(headers, now) {
    signatureHeaders(headers, now)
  },

  async verify(headers, rawBody, env, now) {
    const { timestamp, signature } = signatureHeaders(headers, now)
    const secrets = secretsOf(env)
    if (secrets.length === 0) throw new ApiError('webhook_bad_signature', 'No webhook secret is configured, so no signature can be valid.')
    const prefix = encoder.encode(`v0:${timestamp}:`)
    const signed = new Uint8Array(prefix.byteLength + rawBody.byteLength)
    signed.set(prefix, 0)
    signed.set(new Uint8Array(rawBody), prefix.byteLength)
    for (const secret of secrets) {
      const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
      if (await crypto.subtle.verify('HMAC', key, hexToBytes(signature), signed)) return { replayKey: `${timestamp}:${signature}` }
    }
    throw new ApiError('webhook_bad_signature', 'The Frame.io signature does not match.')
  },

  events(body) {
    const type = isObject(body) ? body.type : undefined
    const resource = isObject(body) ? body.resource : undefined
    if (typeof type !== 'string' || !isObject(resource) || typeof resource.id !== 'string') {
      throw new ApiError('webhook_malformed', 'The webhook body lacks `type` or `resource.id`.')
    }
    const known = Object.hasOwn(EFFECTS, type) ? EFFECTS[type] : undefined
    const effect = resource.type === 'asset' || resource.type === undefined ? (known ?? (type.startsWith('asset.') ? 'invalidate' : undefined)) : undefined
    if (!effect) return []
    if (!UUID.test(resource.id)) throw new ApiError('webhook_malformed', '`resource.id` is not a Frame.io asset id.')
    return [{ ids: { asset_id: resource.id }, effect, type }]
  },
}

/** Signs a body the way Frame.io does (its sandbox, tests and the `webhook` script use it). */
export async function signFrameioWebhook(secret: string, body: string, timestamp: number): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`v0:${timestamp}:${body}`)))
  return { 'x-frameio-request-timestamp': String(timestamp), 'x-frameio-signature': `v0=${toHex(mac)}`, 'content-type': 'application/json' }
}
