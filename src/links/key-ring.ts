import { ApiError } from '../http/errors'
import type { IsolateState } from '../isolate-state'
import { isKeyId, type VerifyingKeys } from './link-token'

const MIN_SECRET_BYTES = 32 // an HMAC-SHA256 key shorter than its output weakens it

/** The link signing keys: every listed key verifies, the current one also signs. */
export type KeyRing = VerifyingKeys & { readonly currentId: string; readonly current: CryptoKey }

/** A misconfigured `LINK_SIGNING_KEYS` / `LINK_SIGNING_KEY_ID`; the message never holds a secret. */
export class KeyRingError extends Error {}

/** Standard or URL-safe base64, padded or not, to bytes; undefined when it is neither. */
function decodeBase64(text: string): Uint8Array | undefined {
  const bare = text.trim().replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '')
  if (!/^[A-Za-z0-9+/]+$/.test(bare)) return undefined
  try {
    return Uint8Array.from(atob(bare.padEnd(Math.ceil(bare.length / 4) * 4, '=')), (ch) => ch.charCodeAt(0))
  } catch {
    return undefined
  }
}

/**
 * Parses `LINK_SIGNING_KEYS` (JSON `{ "<kid>": "<base64 secret of 32+ bytes>" }`) and imports
 * each secret as an HMAC-SHA256 key; `currentId` (`LINK_SIGNING_KEY_ID`) must name one of them.
 * Rotation: add a new kid, make it current, and drop the old one once its links have expired.
 */
export async function parseKeyRing(keysJson: string | undefined, currentId: string | undefined): Promise<KeyRing> {
  if (!keysJson) throw new KeyRingError('LINK_SIGNING_KEYS is not set')
  let parsed: unknown
  try {
    parsed = JSON.parse(keysJson)
  } catch {
    throw new KeyRingError('LINK_SIGNING_KEYS is not JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KeyRingError('LINK_SIGNING_KEYS must be a JSON object { kid: base64 secret }')
  }
  const keys = new Map<string, CryptoKey>()
  for (const [kid, secret] of Object.entries(parsed)) {
    if (!isKeyId(kid)) throw new KeyRingError(`LINK_SIGNING_KEYS: key id ${JSON.stringify(kid.slice(0, 40))} must be 1-32 of [A-Za-z0-9_-]`)
    const bytes = typeof secret === 'string' ? decodeBase64(secret) : undefined
    if (!bytes || bytes.length < MIN_SECRET_BYTES) {
      throw new KeyRingError(`LINK_SIGNING_KEYS: the secret of ${kid} must be base64 of at least ${MIN_SECRET_BYTES} bytes`)
    }
    keys.set(kid, await crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']))
  }
  const current = currentId ? keys.get(currentId) : undefined
  if (!currentId || !current) throw new KeyRingError('LINK_SIGNING_KEY_ID does not name a key of LINK_SIGNING_KEYS')
  return { currentId, current, get: (kid) => keys.get(kid) }
}

type Memo = { source?: string; ring?: Promise<KeyRing> }

/** The isolate's key ring for these settings, imported once per configuration; a 500 when it is unusable. */
export async function keyRing(
  isolate: IsolateState,
  links: { signingKeys: string; signingKeyId: string },
  options: { quiet?: boolean } = {},
): Promise<KeyRing> {
  const memo = isolate.slot<Memo>('links:key-ring', () => ({}))
  const source = `${links.signingKeyId}\n${links.signingKeys}`
  if (memo.source !== source || !memo.ring) {
    memo.source = source
    memo.ring = parseKeyRing(links.signingKeys, links.signingKeyId)
  }
  try {
    return await memo.ring
  } catch (err) {
    const reason = err instanceof KeyRingError ? err.message : 'the keys could not be imported'
    if (!options.quiet) console.error(JSON.stringify({ level: 'error', message: 'signed links are misconfigured', reason }))
    throw new ApiError('links_not_configured', 'Signed links are not configured on this gateway.')
  }
}
