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

/** The lookup services for one request or one cron run: upstream access, the tiered cache, its policy. */
export function lookupDeps(env: Env, waitUntil: (p: Promise<unknown>) => void, options: ServiceOptions): LookupDeps {
  const fetcher = env.SANDBOX === 'on' ? sandboxFetch(options.fetch) : options.fetch
  return {
    upstream: { env, fetch: fetcher, kv: env.ASSET_KV },
    cache: buildCache(env, waitUntil, options),
    policy: cachePolicy(env),
    waitUntil,
  }
}

/** Builds the per-request lookup services once, from `c.env`, for every route. */
export const services = (options: ServiceOptions) =>
  createMiddleware<{ Bindings: Env; Variables: { lookup: LookupDeps } }>(async function services(c, next) {
    c.set('lookup', lookupDeps(c.env, (p) => c.executionCtx.waitUntil(p), options))
    await next()
  })
