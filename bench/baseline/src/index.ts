import { Hono } from 'hono'

/**
 * The yardstick of `npm run bench`: a bare Hono Worker on the gateway's mirror route, answering
 * the body a gateway cache hit answers with `c.json()`. No auth, no cache, no headers of its own;
 * what the gateway does beyond this is what the hit ratios measure.
 *
 * `/cache-floor/…` is a second yardstick, for Cache API hits: the same body read back from
 * `caches.default` and nothing else, so the bench can show what the local Cache API itself costs.
 *
 * `/with-headers/…` is the bare route answering with the header names a gateway memory hit carries
 * (values of the same shape, written once): what those headers cost any Worker, apart from the work
 * of computing them. The bench checks the names match the gateway's answer.
 *
 * `/proxy/…` is the yardstick for misses: the upstream's answer fetched and returned as it is, so
 * the bench can tell what a gateway miss adds beyond one Worker-to-upstream round trip.
 */
type Bindings = { BENCH_BODY: string; UPSTREAM_URL: string; UPSTREAM_KEY: string }

let record: unknown // parsed once per isolate, as the gateway's memory tier holds its body once

/** A gateway memory hit's headers (`content-type` and `content-length` come from `c.json`). */
const HIT_HEADERS = {
  etag: '"OUPLkz2SCVFEYYtx0FU8Bg"',
  'cache-status': 'asset-edge; hit; detail=memory; ttl=299',
  age: '0',
  'cache-control': 'private, max-age=299',
  'server-timing': 'memory;dur=0',
  'x-request-id': '39fe3890-3f88-4ef2-9260-fcfd7696aa4c',
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
}

const app = new Hono<{ Bindings: Bindings }>()

app.get('/sync/v2/assets/:id', (c) => {
  record ??= JSON.parse(c.env.BENCH_BODY) as unknown
  return c.json(record)
})

app.get('/with-headers/sync/v2/assets/:id', (c) => {
  record ??= JSON.parse(c.env.BENCH_BODY) as unknown
  return c.json(record, 200, HIT_HEADERS)
})

app.get('/cache-floor/sync/v2/assets/:id', async (c) => {
  const key = `https://bench-floor.cache/${c.req.param('id')}`
  const hit = await caches.default.match(key)
  if (hit) return c.body(await hit.text(), 200, { 'content-type': 'application/json', 'cache-status': 'floor; hit; detail=edge' })
  const put = new Response(c.env.BENCH_BODY, { headers: { 'content-type': 'application/json', 'cache-control': 'max-age=3600' } })
  c.executionCtx.waitUntil(caches.default.put(key, put))
  return c.body(c.env.BENCH_BODY, 200, { 'content-type': 'application/json', 'cache-status': 'floor; fwd=miss' })
})

app.get('/proxy/sync/v2/assets/:id', (c) => fetch(`${c.env.UPSTREAM_URL}/v2/assets/${c.req.param('id')}`, { headers: { 'x-api-key': c.env.UPSTREAM_KEY } }))

export default app satisfies ExportedHandler<Bindings>
