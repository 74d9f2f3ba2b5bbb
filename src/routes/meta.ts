import { Hono } from 'hono/tiny'
import type { AppEnv } from '../http/app-env'
import { health } from './health'

/**
 * Unauthenticated routes: health, the gateway's own OpenAPI document and its docs page. The last
 * two are static assets (scripts/assets.mjs builds them; the platform serves them before the
 * Worker runs, with the headers of static/_headers); these routes answer the same files through
 * the ASSETS binding wherever a request reaches the Worker itself (the tests, a route mismatch).
 */
export const meta = new Hono<AppEnv>()

/** The docs page may load scripts, styles, images and data from its own origin only. */
export const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"

meta.get('/healthz', async (c) => c.json(await health(c), 200, { 'cache-control': 'no-store' }))

meta.get('/openapi.json', async (c) => {
  const asset = await c.env.ASSETS.fetch(new URL('/openapi.json', c.req.url))
  return new Response(asset.body, {
    status: asset.status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
  })
})

meta.get('/docs', async (c) => {
  const asset = await c.env.ASSETS.fetch(new URL('/docs', c.req.url))
  const headers = new Headers(asset.headers)
  headers.set('content-security-policy', DOCS_CSP)
  return new Response(asset.body, { status: asset.status, headers })
})
