import { createMiddleware } from 'hono/factory'
import type { CacheEntry } from '../cache/entry'
import { assetTag } from '../cache/keys'
import { edgeStore, kvStore, type Store } from '../cache/stores'
import { TieredCache } from '../cache/tiered-cache'
import type { Config } from '../config'
import { EventSink } from '../events/emit'
import { type LookupDeps, staleStatus } from '../lookup'
import type { AppEnv, Gateway, Services } from './app-env'

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
    gateScope: gateway.gateScope,
    events,
  }
}

/**
 * One request's services. The lookup services are built on first use: a request answered from
 * isolate memory (or by a route that looks nothing up) builds none. A class, so every request's
 * object has one shape and the getter lives on the prototype.
 */
class RequestServices implements Services {
  private deps: LookupDeps | undefined
  readonly config: Config

  constructor(
    readonly gateway: Gateway,
    private readonly env: Env,
    private readonly ctx: { waitUntil(promise: Promise<unknown>): void },
  ) {
    this.config = gateway.config(env)
  }

  get lookup(): LookupDeps {
    this.deps ??= lookupDeps(this.gateway, this.env, (p) => this.ctx.waitUntil(p))
    return this.deps
  }
}

/** Gives every route its services, from `c.env`. */
export const services = (gateway: Gateway) =>
  createMiddleware<AppEnv>(async function services(c, next) {
    c.set('services', new RequestServices(gateway, c.env, c.executionCtx))
    await next()
  })
