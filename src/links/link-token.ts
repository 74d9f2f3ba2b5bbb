import { decodeBase64url, encodeBase64url } from '../encoding'
import { ApiError } from '../http/errors'

/**
 * Signed link tokens: `v2.<kid>.<payload>.<signature>`.
 *
 * `payload` is the base64url of the canonical claims (a JSON array in fixed order, maps with
 * sorted keys), `signature` the base64url HMAC-SHA256, under key `kid`, of the ASCII string
 * `v2.<kid>.<payload>`. The signature therefore covers the format version, the key id, the
 * provider, every lookup parameter, the variant, the expiry and the gateway key that minted the
 * link. It is checked before the payload is parsed, so a tampered token is refused without its
 * content being read. (`v1` tokens, which named no minting key, are no longer accepted: they
 * lived at most `LINK_MAX_TTL_S`.)
 */
export const LINK_TOKEN_VERSION = 'v2'

const MAX_TOKEN_CHARS = 1024
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/
const SEGMENT = /^[A-Za-z0-9_-]+$/
const SIGNATURE_CHARS = 43 // unpadded base64url of a 32-byte HMAC-SHA256
const DIGEST = /^[0-9a-f]{64}$/

/** What a link stands for: one lookup, one variant of its media, until `exp`. */
export type LinkClaims = {
  provider: string
  /** Path ids as the provider names them, canonical (as the adapter's `parse` returned them). */
  ids: Readonly<Record<string, string>>
  /** Canonical lookup query, as the adapter's `parse` returned it. */
  query: Readonly<Record<string, string>>
  variant: string
  /** Unix time, seconds, from which the link no longer works (plus the clock-skew allowance). */
  exp: number
  /**
   * The SHA-256 digest (hex) of the gateway key that minted the link, as KV stores that key: the
   * link works only while the key does. Not a credential: the gateway never accepts a digest.
   */
  keyDigest: string
}

/** The verifying keys: a listed key id's key, or undefined for an unknown or retired one. */
export type VerifyingKeys = { get(kid: string): CryptoKey | undefined }

const encoder = new TextEncoder()

/** True for a key id that can appear in a token. */
export function isKeyId(kid: string): boolean {
  return KEY_ID.test(kid)
}

function sortedMap(map: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** The one serialisation of a set of claims: equal claims give equal bytes. */
export function canonicalPayload(claims: LinkClaims): string {
  return JSON.stringify([claims.provider, sortedMap(claims.ids), sortedMap(claims.query), claims.variant, claims.exp, claims.keyDigest])
}

/** Signs `claims` under key `kid` and returns the token. */
export async function signLinkToken(claims: LinkClaims, kid: string, key: CryptoKey): Promise<string> {
  if (!isKeyId(kid)) throw new TypeError(`invalid link key id ${JSON.stringify(kid)}`)
  const signed = `${LINK_TOKEN_VERSION}.${kid}.${encodeBase64url(encoder.encode(canonicalPayload(claims)))}`
  const mac = await crypto.subtle.sign('HMAC', key, encoder.encode(signed))
  return `${signed}.${encodeBase64url(new Uint8Array(mac))}`
}

const malformed = () => new ApiError('malformed_link_token', 'The link is not a well-formed asset-edge link.')
/** One answer for every token this gateway did not sign as it stands (altered, unknown key, impossible expiry): an outsider learns nothing from which. */
const badSignature = () => new ApiError('invalid_link_signature', 'The link was not signed by this gateway or has been altered.')

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string')
}

function claimsOf(bytes: Uint8Array): LinkClaims | undefined {
  let payload: string
  let json: unknown
  try {
    payload = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    json = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (!Array.isArray(json) || json.length !== 6) return undefined
  const [provider, ids, query, variant, exp, keyDigest] = json as unknown[]
  if (typeof provider !== 'string' || typeof variant !== 'string' || typeof exp !== 'number' || !Number.isSafeInteger(exp)) return undefined
  if (!isStringMap(ids) || !isStringMap(query) || typeof keyDigest !== 'string' || !DIGEST.test(keyDigest)) return undefined
  const claims: LinkClaims = { provider, ids, query, variant, exp, keyDigest }
  return canonicalPayload(claims) === payload ? claims : undefined
}

/** When a token is checked: now, the clock-skew allowance and the longest lifetime a link is minted with. */
export type LinkClock = { nowMs: number; skewS: number; maxTtlS: number }

/**
 * Checks a token and returns its claims, or throws: 400 `malformed_link_token`, 403
 * `invalid_link_signature` (altered, signed with a key the ring does not list, or an `exp`
 * beyond now + `maxTtlS` + `skewS`, which no link minted here carries: only a leaked signing key
 * makes one), 410 `link_expired` (only for a genuine token). A token is accepted until
 * `exp + skewS` seconds.
 */
export async function verifyLinkToken(token: string, keys: VerifyingKeys, clock: LinkClock): Promise<LinkClaims> {
  const parts = token.length <= MAX_TOKEN_CHARS ? token.split('.') : []
  if (parts.length !== 4) throw malformed()
  const [version = '', kid = '', payload = '', signature = ''] = parts
  if (version !== LINK_TOKEN_VERSION || !isKeyId(kid) || !SEGMENT.test(payload) || signature.length !== SIGNATURE_CHARS || !SEGMENT.test(signature)) {
    throw malformed()
  }
  const key = keys.get(kid)
  if (!key) throw badSignature()
  const mac = decodeBase64url(signature)
  if (!mac) throw badSignature()
  const valid = await crypto.subtle.verify('HMAC', key, mac, encoder.encode(`${version}.${kid}.${payload}`))
  if (!valid) throw badSignature()

  const bytes = decodeBase64url(payload)
  const claims = bytes ? claimsOf(bytes) : undefined
  if (!claims) throw malformed()
  if (claims.exp * 1000 > clock.nowMs + (clock.maxTtlS + clock.skewS) * 1000) throw badSignature()
  if (clock.nowMs >= (claims.exp + clock.skewS) * 1000) {
    throw new ApiError('link_expired', `The link expired at ${new Date(claims.exp * 1000).toISOString()}.`)
  }
  return claims
}
