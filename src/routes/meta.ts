import { Scalar } from '@scalar/hono-api-reference'
import { Hono } from 'hono'
import spec from '../generated/asset-edge.openapi.json'

/** Unauthenticated routes: health, the gateway's own OpenAPI document and its docs page. */
export const meta = new Hono<{ Bindings: Env }>()

meta.get('/healthz', (c) => c.json({ status: 'ok', sandbox: c.env.SANDBOX === 'on' }, 200, { 'cache-control': 'no-store' }))

meta.get('/openapi.json', (c) => c.json(spec, 200, { 'cache-control': 'public, max-age=300' }))

meta.get('/docs', Scalar({ url: '/openapi.json', pageTitle: 'asset-edge API' }))
