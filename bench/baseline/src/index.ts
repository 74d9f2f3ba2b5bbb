import { Hono } from 'hono'

/**
 * The yardstick of `npm run bench`: a bare Hono Worker on the gateway's mirror route, answering
 * the body a gateway cache hit answers with `c.json()`. No auth, no cache, no headers of its own;
 * what the gateway does beyond this is what the hit ratios measure.
 *
 * `/cache-floor/…` is a second yardstick, for Cache API hits: the same body read back from
 * `caches.default` and nothing else, so the bench can show what the local Cache API itself costs.
 *
 * `/proxy/…` is the yardstick for misses: the upstream's answer fetched and returned as it is, so
 * the bench can tell what a gateway miss adds beyond one Worker-to-upstream round trip.
 */
type Bindings = { BENCH_BODY: string; UPSTREAM_URL: string; UPSTREAM_KEY: string }

let record: unknown // parsed once per isolate, as the gateway's memory tier holds its body once

const app = new Hono<{ Bindings: Bindings }>()

app.get('/sync/v2/assets/:id', (c) => {
  record ??= JSON.parse(c.env.BENCH_BODY) as unknown
  return c.json(record)
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
