import { Hono } from 'hono'
import { type KeyRecord, gatewayAuth, requireProviderScope } from '../http/auth'
import type { Upstream } from '../http/services'
import { PROVIDERS } from '../providers'
import { lookupRecord } from '../lookup'

type LookupEnv = { Bindings: Env; Variables: { key: KeyRecord; upstream: Upstream; requestId: string } }

/** The mirror routes: `/<provider>` + the provider's own get-asset path, one per adapter. */
export const lookups = new Hono<LookupEnv>()

lookups.use(gatewayAuth())

for (const adapter of Object.values(PROVIDERS)) {
  lookups.get(adapter.route, async (c) => {
    requireProviderScope(c.var.key, adapter.name)
    const key = adapter.parse(c.req.param(), new URL(c.req.url).searchParams)
    const result = await lookupRecord({ upstream: c.var.upstream, ctx: c.executionCtx }, adapter, key)
    return new Response(result.body, {
      status: result.status,
      headers: { ...result.headers, 'content-type': 'application/json; charset=utf-8' },
    })
  })
}
