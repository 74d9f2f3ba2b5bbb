import { createMiddleware } from 'hono/factory'
import { toHex } from '../encoding'
import type { AppEnv, Services } from './app-env'
import { ApiError } from './errors'

/**
 * What a gateway key may do. `providers` lists the providers it may look up ("*" for all);
 * `events` lets it manage webhook subscriptions (which receive events of those providers only).
 */
export type KeyScopes = { providers: readonly string[]; links: boolean; admin: boolean; events?: boolean }

/** A gateway key as stored in KV under `gwkey:<sha256 hex of the key>`; the key itself is never stored. */
export type KeyRecord = { id: string; name: string; scopes: KeyScopes; created_at: string }

export const KEY_PREFIX = 'gwkey:'
const CHALLENGE = 'Bearer realm="asset-edge"'
const MAX_KEY_CHARS = 256

/** Hex SHA-256 of a gateway key: the only form in which keys are stored. */
export async function digestKey(key: string): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return toHex(new Uint8Array(bytes))
}

/** The key from `Authorization: Bearer …`, else from `x-api-key` (also beside another `Authorization` scheme). */
export function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '')?.[1]
  return bearer ?? (req.headers.get('x-api-key')?.trim() || undefined)
}

/** The record stored for a key digest: the gateway's own resolver first, then KV (a 503 when KV fails). */
async function recordOf({ gateway }: Services, env: Env, digest: string): Promise<KeyRecord | null> {
  const resolved = await gateway.resolveKey?.(env, digest)
  if (resolved) return resolved
  try {
    return await env.ASSET_KV.get<KeyRecord>(KEY_PREFIX + digest, 'json')
  } catch {
    // KV unavailable: refuse rather than guess, and don't remember the refusal.
    throw new ApiError('key_store_unavailable', 'Gateway keys cannot be verified right now.', { headers: { 'retry-after': '1' } })
  }
}

/**
 * The record of a presented key and its digest: from this isolate's key cache (by the key as
 * presented, so a repeat request skips hashing and KV alike; the bound and `KEY_CACHE_TTL_S` limit
 * how long), else by its digest from the gateway's own resolver or KV.
 */
async function verifyKey(services: Services, env: Env, key: string): Promise<{ record: KeyRecord | null; digest: string }> {
  if (key.length > MAX_KEY_CHARS) return { record: null, digest: '' }
  const cache = services.gateway.isolate.keys
  const hit = cache.get(key)
  if (hit && hit.until > Date.now()) return hit
  const digest = await digestKey(key)
  const record = await recordOf(services, env, digest)
  cache.set(key, { record, digest, until: Date.now() + services.config.keyCacheTtlS * 1000 })
  return { record, digest }
}

/**
 * The record of the key stored under `digest`, or null once it is revoked: what `/r/` checks a
 * link's minting key with. Cached per isolate for `KEY_CACHE_TTL_S`, like presented keys, so a
 * revoked key's links stop within that bound.
 */
export async function keyByDigest(services: Services, env: Env, digest: string): Promise<KeyRecord | null> {
  const cache = services.gateway.isolate.keysByDigest
  const hit = cache.get(digest)
  if (hit && hit.until > Date.now()) return hit.record
  const record = await recordOf(services, env, digest)
  cache.set(digest, { record, digest, until: Date.now() + services.config.keyCacheTtlS * 1000 })
  return record
}

/** Authenticates the gateway key from `Authorization: Bearer` or `x-api-key` and stores its record. */
export const gatewayAuth = () =>
  createMiddleware<AppEnv>(async function gatewayAuth(c, next) {
    const key = presentedKey(c.req.raw)
    if (!key) {
      throw new ApiError('missing_api_key', 'Send a gateway key as `Authorization: Bearer <key>` or `x-api-key: <key>`.', {
        headers: { 'www-authenticate': CHALLENGE },
      })
    }
    const { record, digest } = await verifyKey(c.get('services'), c.env, key)
    if (!record) {
      throw new ApiError('invalid_api_key', 'The gateway key is not valid.', { headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` } })
    }
    c.set('key', record)
    c.set('keyDigest', digest)
    await next()
  })

/** True when the key may read assets of `provider`. */
export function hasProviderScope(record: KeyRecord, provider: string): boolean {
  return record.scopes.providers.includes('*') || record.scopes.providers.includes(provider)
}

/** Throws 403 unless the key may look up assets of `provider`. */
export function requireProviderScope(record: KeyRecord, provider: string): void {
  if (!hasProviderScope(record, provider)) throw new ApiError('forbidden_scope', `This gateway key may not look up ${provider} assets.`)
}

/** Throws 403 unless the key has the named capability. */
export function requireCapability(record: KeyRecord, capability: 'links' | 'admin' | 'events'): void {
  if (!record.scopes[capability]) throw new ApiError('forbidden_scope', `This gateway key lacks the ${capability} scope.`)
}
