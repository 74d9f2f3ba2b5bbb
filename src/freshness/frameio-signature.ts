import { ApiError } from '../http/problem'

/** How far a webhook's timestamp may be from now, either way (seconds). */
export const WEBHOOK_TOLERANCE_S = 300

const encoder = new TextEncoder()

function hexToBytes(hex: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})+$/i.test(hex)) return undefined
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16))
}

const unauthorized = (code: string, detail: string) => new ApiError(401, code, detail)

/**
 * Verifies Frame.io's `X-Frameio-Signature: v0=<hex>` = HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`)
 * with `crypto.subtle.verify` (constant time), against each configured secret (current, previous),
 * and checks `X-Frameio-Request-Timestamp` is within 5 minutes of `now`. Returns the signature
 * hex, the replay key. Throws a 401 `ApiError` otherwise.
 */
export async function verifyFrameioSignature(
  headers: Headers,
  rawBody: ArrayBuffer,
  secrets: readonly string[],
  now: number,
): Promise<{ timestamp: number; signature: string }> {
  const timestampHeader = headers.get('x-frameio-request-timestamp')
  const signatureHeader = headers.get('x-frameio-signature')
  if (!timestampHeader || !signatureHeader) throw unauthorized('webhook_unsigned', 'The request carries no Frame.io signature.')
  if (!/^\d{1,12}$/.test(timestampHeader)) throw unauthorized('webhook_bad_timestamp', 'X-Frameio-Request-Timestamp is not a unix time.')
  const timestamp = Number(timestampHeader)
  if (Math.abs(now / 1000 - timestamp) > WEBHOOK_TOLERANCE_S) {
    throw unauthorized('webhook_stale', 'The webhook timestamp is more than 5 minutes away from now.')
  }
  const match = /^v0=([0-9a-f]{64})$/i.exec(signatureHeader.trim())
  const signature = match?.[1] ? hexToBytes(match[1]) : undefined
  if (!match?.[1] || !signature) throw unauthorized('webhook_bad_signature', 'The Frame.io signature is malformed.')
  if (secrets.length === 0) throw unauthorized('webhook_bad_signature', 'No webhook secret is configured, so no signature can be valid.')

  const prefix = encoder.encode(`v0:${timestampHeader}:`)
  const signed = new Uint8Array(prefix.byteLength + rawBody.byteLength)
  signed.set(prefix, 0)
  signed.set(new Uint8Array(rawBody), prefix.byteLength)
  for (const secret of secrets) {
    const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
    if (await crypto.subtle.verify('HMAC', key, signature, signed)) return { timestamp, signature: match[1].toLowerCase() }
  }
  throw unauthorized('webhook_bad_signature', 'The Frame.io signature does not match.')
}

/** Signs a body the way Frame.io does (the sandbox and the `webhook` script use it). */
export async function signFrameioWebhook(secret: string, body: string, timestamp: number): Promise<Record<string, string>> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`v0:${timestamp}:${body}`)))
  const hex = [...mac].map((b) => b.toString(16).padStart(2, '0')).join('')
  return { 'x-frameio-request-timestamp': String(timestamp), 'x-frameio-signature': `v0=${hex}`, 'content-type': 'application/json' }
}
