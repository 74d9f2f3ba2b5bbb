import type { SigningSecret } from './types'

/** Standard Webhooks secrets: `whsec_` + base64 of 32 random bytes. */
export const SECRET_PREFIX = 'whsec_'

const encoder = new TextEncoder()

function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** A new signing secret. */
export function newSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)))
}

/** The secrets that sign now: the current one, and a rotated-out one until it expires. */
export function activeSecrets(secrets: readonly SigningSecret[], now: number): SigningSecret[] {
  return secrets.filter((s) => !s.expires_at || Date.parse(s.expires_at) > now)
}

/**
 * The Standard Webhooks headers for one attempt: `webhook-signature` holds one `v1,<base64>`
 * (HMAC-SHA256 over `{id}.{timestamp}.{body}`, keyed by the secret's decoded bytes) per active
 * secret, space separated, so a receiver holding either secret verifies during a rotation.
 */
export async function signatureHeaders(id: string, timestampS: number, body: string, secrets: readonly string[]): Promise<Record<string, string>> {
  const content = encoder.encode(`${id}.${timestampS}.${body}`)
  const signatures = await Promise.all(
    secrets.map(async (secret) => {
      const raw = Uint8Array.from(atob(secret.slice(SECRET_PREFIX.length)), (c) => c.charCodeAt(0))
      const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      return `v1,${toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, content)))}`
    }),
  )
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampS), 'webhook-signature': signatures.join(' ') }
}
