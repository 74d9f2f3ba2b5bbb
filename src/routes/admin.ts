import { Hono } from 'hono'
import { memoryTier } from '../cache/build'
import { assetTag } from '../cache/keys'
import { gatewayAuth, type KeyRecord, requireCapability } from '../http/auth'
import { ApiError } from '../http/problem'
import type { LookupDeps } from '../lookup'
import { isProviderName, PROVIDERS } from '../providers'
import { isObject } from '../providers/record'

type PurgeEnv = { Bindings: Env; Variables: { key: KeyRecord; lookup: LookupDeps } }

const MAX_ASSETS = 100
const MAX_BODY_BYTES = 64 * 1024

/** Purges Cloudflare's cache by tag in every data centre, when the zone and a token are configured. */
async function purgeEverywhere(env: Env, fetcher: typeof fetch, tags: string[]): Promise<'purged' | 'not_configured' | 'failed'> {
  if (!env.CF_ZONE_ID || !env.CF_API_TOKEN) return 'not_configured'
  try {
    const response = await fetcher(`https://api.cloudflare.com/client/v4/zones/${encodeURIComponent(env.CF_ZONE_ID)}/purge_cache`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.CF_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags }),
    })
    return response.ok ? 'purged' : 'failed'
  } catch {
    return 'failed'
  }
}

/** Admin routes: `POST /purge` drops every cached variant of the named assets; `GET /admin/cache` reports the memory tier. */
export const admin = new Hono<PurgeEnv>()

admin.get('/admin/cache', gatewayAuth(), (c) => {
  requireCapability(c.var.key, 'admin')
  return c.json({ memory: memoryTier(c.env)?.stats ?? null }, 200, { 'cache-control': 'no-store' })
})

admin.post('/purge', gatewayAuth(), async (c) => {
  requireCapability(c.var.key, 'admin')
  if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) throw new ApiError(413, 'body_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes.`)
  const raw = await c.req.arrayBuffer()
  if (raw.byteLength > MAX_BODY_BYTES) throw new ApiError(413, 'body_too_large', `The body exceeds ${MAX_BODY_BYTES} bytes.`)
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder().decode(raw))
  } catch {
    body = undefined
  }
  if (!isObject(body) || typeof body.provider !== 'string' || !Array.isArray(body.assets)) {
    throw new ApiError(400, 'invalid_body', 'Send JSON `{ "provider": "<name>", "assets": [ { <the lookup route\'s path ids> } ] }`.')
  }
  if (!isProviderName(body.provider)) {
    throw new ApiError(422, 'unknown_provider', `Unknown provider; allowed: ${Object.keys(PROVIDERS).join(', ')}.`, { extras: { allowed: Object.keys(PROVIDERS) } })
  }
  if (body.assets.length === 0 || body.assets.length > MAX_ASSETS) {
    throw new ApiError(400, 'invalid_body', `\`assets\` must list 1 to ${MAX_ASSETS} assets.`)
  }
  const adapter = PROVIDERS[body.provider]
  const bases = body.assets.map((ids) => {
    if (!isObject(ids) || !Object.values(ids).every((v) => typeof v === 'string')) {
      throw new ApiError(400, 'invalid_body', 'Each asset is an object of string path ids, as in the lookup route.')
    }
    return assetTag(adapter.parse(ids as Record<string, string>, new URLSearchParams()).cacheKey)
  })
  const removed = (await Promise.all(bases.map((base) => c.var.lookup.cache.invalidateAsset(base)))).flat()
  const everywhere = await purgeEverywhere(c.env, c.var.lookup.upstream.fetch, bases)
  return c.json({ provider: adapter.name, assets: bases.length, keys_removed: removed, edge_everywhere: everywhere })
})
