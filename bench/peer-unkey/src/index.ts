import { createCache, Namespace } from '@unkey/cache'
import { MemoryStore } from '@unkey/cache/stores'
import { Hono } from 'hono'

/**
 * The peer of `npm run bench`: what a Hono Worker built on Unkey's `@unkey/cache` does for the
 * gateway's mirror route. A bearer-token check, then `swr()` on one namespace over a memory store
 * (fresh 300 s as the gateway's ready assets, stale 3600 s as its stale-while-revalidate window);
 * a miss loads the record from the bench's loopback upstream (or BENCH_BODY when none is set). The
 * record is cached parsed and answered with `c.json()`, as `@unkey/cache`'s own examples do.
 */
type Bindings = { PEER_TOKEN: string; UPSTREAM_URL: string; UPSTREAM_KEY: string; BENCH_BODY: string }

const FRESH_MS = 300_000
const STALE_MS = 3_600_000

// Per isolate, as the library's memory store is meant to be used: one map the namespace outlives requests with.
const persistentMap = new Map()
let waitUntil: (p: Promise<unknown>) => void = () => {}
const cache = createCache({
  asset: new Namespace<unknown>({ waitUntil: (p) => waitUntil(p) }, { stores: [new MemoryStore({ persistentMap })], fresh: FRESH_MS, stale: STALE_MS }),
})

async function loadRecord(env: Bindings, id: string): Promise<unknown> {
  if (!env.UPSTREAM_URL) return JSON.parse(env.BENCH_BODY) as unknown
  const res = await fetch(`${env.UPSTREAM_URL}/v2/assets/${id}`, { headers: { 'x-api-key': env.UPSTREAM_KEY } })
  if (!res.ok) throw new Error(`upstream answered ${res.status}`)
  return (await res.json()) as unknown
}

const app = new Hono<{ Bindings: Bindings }>()

app.get('/sync/v2/assets/:id', async (c) => {
  if (!c.env.PEER_TOKEN || c.req.header('authorization') !== `Bearer ${c.env.PEER_TOKEN}`) return c.json({ error: 'unauthorized' }, 401)
  waitUntil = (p) => c.executionCtx.waitUntil(p)
  const id = c.req.param('id')
  const { val, err } = await cache.asset.swr(id, () => loadRecord(c.env, id))
  if (err) return c.json({ error: err.message }, 502)
  if (val === undefined) return c.json({ error: 'not found' }, 404)
  return c.json(val)
})

export default app satisfies ExportedHandler<Bindings>
