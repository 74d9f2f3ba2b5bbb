import { createMiddleware } from 'hono/factory'
import { LRUCache } from 'lru-cache'
import type { ProviderName } from '../providers/types'
import { ApiError } from './problem'

/** What a gateway key may do. `providers` lists the providers it may look up ("*" for all). */
export type KeyScopes = { providers: readonly (ProviderName | '*')[]; links: boolean; admin: boolean }

/** A gateway key as stored in KV under `gwkey:<sha256 hex of the key>`; the key itself is never stored. */
export type KeyRecord = { id: string; name: string; scopes: KeyScopes; created_at: string }

export const KEY_PREFIX = 'gwkey:'
const CHALLENGE = 'Bearer realm="asset-edge"'
const DEFAULT_KEY_CACHE_TTL_S = 30 // seconds a verified (or refused) digest is trusted in this isolate

type Cached = { record: KeyRecord | null; until: number }
/**
 * Verified keys by the key as presented, so a repeat request skips hashing and KV alike. The key
 * is already in this isolate's memory while its request runs; the bound and the TTL limit how long.
 */
const verified = new LRUCache<string, Cached>({ max: 10_000 })

/** Hex SHA-256 of a gateway key: the only form in which keys are stored. */
export async function digestKey(key: string): Promise<string> {
  const bytes = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key))
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

function presentedKey(req: Request): string | undefined {
  const authorization = req.headers.get('authorization')
  if (authorization) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization)
    return match?.[1]
  }
  return req.headers.get('x-api-key')?.trim() || undefined
}

const DEV_KEY_RECORD: KeyRecord = {
  id: 'dev',
  name: 'sandbox development key',
  scopes: { providers: ['*'], links: true, admin: true },
  created_at: '1970-01-01T00:00:00Z',
}

let devDigest: { key: string; digest: string } | undefined
async function devKeyDigest(key: string): Promise<string> {
  if (devDigest?.key !== key) devDigest = { key, digest: await digestKey(key) }
  return devDigest.digest
}

async function lookupKey(env: Env, key: string): Promise<KeyRecord | null> {
  if (key.length > 256) return null
  const hit = verified.get(key)
  // The sandbox key counts only while this env has the sandbox on.
  if (hit && hit.until > Date.now() && (hit.record !== DEV_KEY_RECORD || env.SANDBOX === 'on')) return hit.record
  const ttlMs = (Number(env.KEY_CACHE_TTL_S) || DEFAULT_KEY_CACHE_TTL_S) * 1000
  const digest = await digestKey(key)
  if (env.SANDBOX === 'on' && env.DEV_GATEWAY_KEY && digest === (await devKeyDigest(env.DEV_GATEWAY_KEY))) {
    verified.set(key, { record: DEV_KEY_RECORD, until: Date.now() + ttlMs })
    return DEV_KEY_RECORD
  }
  let record: KeyRecord | null = null
  try {
    record = await env.ASSET_KV.get<KeyRecord>(KEY_PREFIX + digest, 'json')
  } catch {
    // KV unavailable: refuse rather than guess, and don't remember the refusal.
    throw new ApiError(503, 'key_store_unavailable', 'Gateway keys cannot be verified right now.', {
      headers: { 'retry-after': '1' },
    })
  }
  verified.set(key, { record, until: Date.now() + ttlMs })
  return record
}

/** Forgets every verified key in this isolate (tests, and `keys revoke` in the same isolate). */
export function clearKeyCache(): void {
  verified.clear()
}

/** Authenticates the gateway key from `Authorization: Bearer` or `x-api-key` and stores its record. */
export const gatewayAuth = () =>
  createMiddleware<{ Bindings: Env; Variables: { key: KeyRecord } }>(async function gatewayAuth(c, next) {
    const key = presentedKey(c.req.raw)
    if (!key) {
      throw new ApiError(401, 'missing_api_key', 'Send a gateway key as `Authorization: Bearer <key>` or `x-api-key: <key>`.', {
        headers: { 'www-authenticate': CHALLENGE },
      })
    }
    const record = await lookupKey(c.env, key)
    if (!record) {
      throw new ApiError(401, 'invalid_api_key', 'The gateway key is not valid.', {
        headers: { 'www-authenticate': `${CHALLENGE}, error="invalid_token"` },
      })
    }
    c.set('key', record)
    await next()
  })

/** Throws 403 unless the key may look up assets of `provider`. */
export function requireProviderScope(record: KeyRecord, provider: ProviderName): void {
  if (record.scopes.providers.includes('*') || record.scopes.providers.includes(provider)) return
  throw new ApiError(403, 'forbidden_scope', `This gateway key may not look up ${provider} assets.`)
}

/** Throws 403 unless the key has the named capability. */
export function requireCapability(record: KeyRecord, capability: 'links' | 'admin'): void {
  if (record.scopes[capability]) return
  throw new ApiError(403, 'forbidden_scope', `This gateway key lacks the ${capability} scope.`)
}
