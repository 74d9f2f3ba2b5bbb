import { createMiddleware } from 'hono/factory'
import { buildCache, cachePolicy, type CacheFactoryOptions } from '../cache/build'
import type { LookupDeps } from '../lookup'
import type { UpstreamDeps } from '../providers/types'
import { sandboxFetch } from '../sandbox/app'

/** Per-request dependencies of the upstream path, built once from `c.env` (see `createApp`). */
export type Upstream = Omit<UpstreamDeps, 'signal'>

export type ServiceOptions = CacheFactoryOptions & {
  /** The network `fetch` for upstream calls; tests inject their own. */
  fetch: typeof fetch
}

/** Builds the per-request lookup services: upstream access and the tiered cache. */
export const services = (options: ServiceOptions) =>
  createMiddleware<{ Bindings: Env; Variables: { lookup: LookupDeps } }>(async function services(c, next) {
    const fetcher = c.env.SANDBOX === 'on' ? sandboxFetch(options.fetch) : options.fetch
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p)
    c.set('lookup', {
      upstream: { env: c.env, fetch: fetcher, kv: c.env.ASSET_KV },
      cache: buildCache(c.env, waitUntil, options),
      policy: cachePolicy(c.env),
    })
    await next()
  })
