import { Hono } from 'hono'

/**
 * A bare Hono Worker: the gateway's mirror route, answering the body a cache hit answers with
 * `c.json()`. No auth, no cache, no headers of its own; what the gateway does beyond this is what
 * the benchmark's hit ratio measures.
 */
type Bindings = { BENCH_BODY: string }

let record: unknown // parsed once per isolate, as the gateway's memory tier holds its body once

const app = new Hono<{ Bindings: Bindings }>()

app.get('/sync/v2/assets/:id', (c) => {
  record ??= JSON.parse(c.env.BENCH_BODY) as unknown
  return c.json(record)
})

export default app satisfies ExportedHandler<Bindings>
