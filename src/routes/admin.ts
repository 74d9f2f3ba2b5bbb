import { Hono } from 'hono/tiny'
import { assetTag } from '../cache/keys'
import type { AppEnv } from '../http/app-env'
import { gatewayAuth, requireCapability, requireProviderScope } from '../http/auth'
import { jsonBody, limitBody } from '../http/body-limit'
import { ApiError } from '../http/errors'
import { localStats } from '../metrics/metrics'
import { isObject } from '../providers/record'
import type { ProviderRegistry } from '../providers/types'

const MAX_ASSETS = 100
const MAX_BODY_BYTES = 64 * 1024

/** Purges Cloudflare's cache by tag in every data centre, when the zone and a token are configured. */
async function purgeEverywhere(
  purge: { zoneId: string; apiToken: string },
  fetcher: typeof fetch,
  tags: string[],
): Promise<'purged' | 'not_configured' | 'failed'> {
  if (!purge.zoneId || !purge.apiToken) return 'not_configured'
  try {
    const response = await fetcher(`https://api.cloudflare.com/client/v4/zones/${encodeURIComponent(purge.zoneId)}/purge_cache`, {
      method: 'POST',
      headers: { authorization: `Bearer ${purge.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tags }),
    })
    return response.ok ? 'purged' : 'failed'
  } catch {
    return 'failed'
  }
}

/** Admin routes: `POST /purge` drops every cached variant of the named assets (admin and the provider's scope); `GET /admin/cache` reports the memory tier. */
export function adminRoutes(providers: ProviderRegistry) {
  const admin = new Hono<AppEnv>()

  admin.get('/admin/stats', gatewayAuth(), (c) => {
    requireCapability(c.get('key'), 'admin')
    return c.json(localStats(c.get('services').gateway.isolate).report(), 200, { 'cache-control': 'no-store' })
  })

  admin.get('/admin/cache', gatewayAuth(), (c) => {
    requireCapability(c.get('key'), 'admin')
    const { gateway, config } = c.get('services')
    return c.json({ memory: gateway.isolate.memoryTier(config.memory)?.stats ?? null }, 200, { 'cache-control': 'no-store' })
  })

  admin.post('/purge', gatewayAuth(), limitBody(MAX_BODY_BYTES), async (c) => {
    requireCapability(c.get('key'), 'admin')
    const body = await jsonBody(c.req.raw).catch(() => undefined)
    if (!isObject(body) || typeof body.provider !== 'string' || !Array.isArray(body.assets)) {
      throw new ApiError('invalid_body', 'Send JSON `{ "provider": "<name>", "assets": [ { <the lookup route\'s path ids> } ] }`.')
    }
    const adapter = providers.get(body.provider)
    if (!adapter) {
      const allowed = providers.list.map((p) => p.name)
      throw new ApiError('unknown_provider', `Unknown provider; allowed: ${allowed.join(', ')}.`, { extras: { allowed } })
    }
    requireProviderScope(c.get('key'), adapter.name)
    if (body.assets.length === 0 || body.assets.length > MAX_ASSETS) {
      throw new ApiError('invalid_body', `\`assets\` must list 1 to ${MAX_ASSETS} assets.`)
    }
    const assets = body.assets.map((ids) => {
      if (!isObject(ids) || !Object.values(ids).every((v) => typeof v === 'string')) {
        throw new ApiError('invalid_body', 'Each asset is an object of string path ids, as in the lookup route.')
      }
      return assetTag(adapter.parse(ids as Record<string, string>, new URLSearchParams()).cacheKey)
    })
    const { lookup, config } = c.get('services')
    const removed = (await Promise.all(assets.map((asset) => lookup.cache.invalidateAsset(asset)))).flat()
    const everywhere = await purgeEverywhere(config.purge, lookup.upstream.fetch, assets)
    // A count: the keys would show which query variants other callers looked up.
    return c.json({ provider: adapter.name, assets: assets.length, keys_removed: removed.length, edge_everywhere: everywhere })
  })

  return admin
}
