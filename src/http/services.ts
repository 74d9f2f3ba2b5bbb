import { createMiddleware } from 'hono/factory'
import type { UpstreamDeps } from '../providers/types'
import { sandboxFetch } from '../sandbox/app'

/** Per-request dependencies of the upstream path, built once from `c.env` (see `createApp`). */
export type Upstream = Omit<UpstreamDeps, 'signal'>

/** Builds the per-request upstream services; `outbound` is the network `fetch` (injected in tests). */
export const services = (outbound: typeof fetch) =>
  createMiddleware<{ Bindings: Env; Variables: { upstream: Upstream } }>(async function services(c, next) {
    const fetcher = c.env.SANDBOX === 'on' ? sandboxFetch(outbound) : outbound
    c.set('upstream', { env: c.env, fetch: fetcher, kv: c.env.ASSET_KV })
    await next()
  })
