import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'
import { SPEC_KEY } from '../generated/spec-key'
import { ApiError } from '../http/problem'

/** Unauthenticated routes: health, the gateway's own OpenAPI document and its docs page. */
export const meta = new Hono<{ Bindings: Env }>()

meta.get('/healthz', (c) => c.json({ status: 'ok', sandbox: c.env.SANDBOX === 'on' }, 200, { 'cache-control': 'no-store' }))

// The spec lives in KV under its digest (`npm run spec:publish`; `npm run dev` and `npm run deploy`
// publish it), not in the bundle, where it would weigh more than the rest of the Worker.
let published: string | undefined
meta.get('/openapi.json', async (c) => {
  published ??= (await c.env.ASSET_KV.get(SPEC_KEY).catch(() => null)) ?? undefined
  if (!published) throw new ApiError(503, 'spec_not_published', 'The OpenAPI document of this build is not published; run `npm run spec:publish`.')
  return c.body(published, 200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' })
})

meta.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'asset-edge API' }))
