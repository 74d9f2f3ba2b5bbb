import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'

/** Unauthenticated routes: health, the gateway's own OpenAPI document and its docs page. */
export const meta = new Hono<{ Bindings: Env }>()

meta.get('/healthz', (c) => c.json({ status: 'ok', sandbox: c.env.SANDBOX === 'on' }, 200, { 'cache-control': 'no-store' }))

// Deployed, the asset layer answers /openapi.json before the Worker runs; this route serves the
// same file wherever the Worker is called directly (tests, other routes' workers).
meta.get('/openapi.json', async (c) => {
  const asset = await c.env.ASSETS.fetch(new URL('/openapi.json', c.req.url))
  return new Response(asset.body, { status: asset.status, headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' } })
})

meta.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'asset-edge API' }))
