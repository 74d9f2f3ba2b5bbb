import { createMiddleware } from 'hono/factory'
import type { CacheEntry } from '../cache/entry'
import { assetTag } from '../cache/keys'
import { edgeStore, kvStore, type Store } from '../cache/stores'
import { TieredCache } from '../cache/tiered-cache'
import { EventSink } from '../events/emit'
import { type LookupDeps, staleStatus } from '../lookup'
import type { AppEnv, Gateway } from './app-env'

const storesByGateway = new WeakMap<Gateway, WeakMap<object, readonly [Store, Store]>>()

/** The shared stores of a gateway for an env: made once per env object, so a request builds none. */
function storesOf(gateway: Gateway, env: Env): readonly [Store, Store] {
  let storesByEnv = storesByGateway.get(gateway)
  if (!storesByEnv) {
    storesByEnv = new WeakMap()
    storesByGateway.set(gateway, storesByEnv)
  }
  let stores = storesByEnv.get(env)
  if (!stores) {
    const { cache, tierTimeoutMs } = gateway.config(env)
    stores = [edgeStore(gateway.openEdge, gateway.edgeNamespace, cache.edgeMaxS, tierTimeoutMs, (key) => [assetTag(key)]), kvStore(env.ASSET_KV, tierTimeoutMs)]
    storesByEnv.set(env, stores)
  }
  return stores
}

/** The lookup services for one request or one cron run: upstream access, the tiered cache, settings. */
export function lookupDeps(gateway: Gateway, env: Env, waitUntil: (p: Promise<unknown>) => void): LookupDeps {
  const config = gateway.config(env)
  const { isolate } = gateway
  const events = new EventSink({ providers: gateway.providers, kv: env.ASSET_KV, queue: env.ASSET_EVENTS, isolate })
  const onChange = (key: string, previous: CacheEntry, next: CacheEntry) => events.cacheChanged(key, previous, next)
  return {
    upstream: { env, fetch: gateway.fetch, kv: env.ASSET_KV, isolate },
    cache: new TieredCache({
      memory: isolate.memoryTier(config.memory),
      stores: storesOf(gateway, env),
      coalescer: isolate.coalescer,
      waitUntil,
      staleStatus,
      onChange,
    }),
    config,
    providers: gateway.providers,
    waitUntil,
    events,
  }
}

/** Builds the per-request services once, from `c.env`, for every route. */
export const services = (gateway: Gateway) =>
  createMiddleware<AppEnv>(async function services(c, next) {
    c.set('services', { gateway, config: gateway.config(c.env), lookup: lookupDeps(gateway, c.env, (p) => c.executionCtx.waitUntil(p)) })
    await next()
  })
