import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'
import { SPEC_KEY } from '../generated/spec-key'
import type { AppEnv } from '../http/app-env'
import { ApiError } from '../http/errors'
import { health } from './health'

/** Unauthenticated routes: health, the gateway's own OpenAPI document and its docs page. */
export const meta = new Hono<AppEnv>()

meta.get('/healthz', async (c) => c.json(await health(c), 200, { 'cache-control': 'no-store' }))

// The spec lives in KV under its digest (`npm run spec:publish`; `npm run dev` and `npm run deploy`
// publish it), not in the bundle, where it would weigh more than the rest of the Worker.
meta.get('/openapi.json', async (c) => {
  const memo = c.var.services.gateway.isolate.slot<{ spec?: string }>('meta:openapi', () => ({}))
  memo.spec ??= (await c.env.ASSET_KV.get(SPEC_KEY).catch(() => null)) ?? undefined
  const published = memo.spec
  if (!published) throw new ApiError('spec_not_published', 'The OpenAPI document of this build is not published; run `npm run spec:publish`.')
  return c.body(published, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' })
})

meta.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'asset-edge API' }))
