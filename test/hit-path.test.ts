import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import { beforeEach, describe, expect, it } from 'vitest'
import type { AppEnv } from '../src/http/app-env'
import { SAMPLE } from '../src/sandbox/samples'
import { createKey, DEV_KEY, expectProblem, ORIGIN, resetState, worldWorker } from './helpers'
import { captured } from './setup/leak-scan'

beforeEach(resetState)

const PATH = `/sync/v2/assets/${SAMPLE.video}`

/** A dev Worker over this test's world that counts the requests its router sees (the full path). */
function countingWorker(hitPath = true) {
  const routed = { count: 0 }
  const before = new Hono<AppEnv>()
  before.use('*', async (_c, next) => {
    routed.count += 1
    await next()
  })
  const { handler } = worldWorker({ before, hitPath })
  const send = async (path: string, headers: Record<string, string> = {}, method = 'GET', overrides: Partial<Env> = {}) => {
    const ctx = createExecutionContext()
    const response = await handler.fetch(
      new Request(ORIGIN + path, { method, headers: { authorization: `Bearer ${DEV_KEY}`, ...headers } }),
      { ...env, ...overrides } as Env,
      ctx,
    )
    await waitOnExecutionContext(ctx)
    return response
  }
  return { routed, send }
}

const accessLines = () =>
  captured.logs
    .flatMap((batch) => batch.split('\n'))
    .filter((line) => line.includes('"route"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** Headers that differ between two answers by design: the request id, and times that moved on. */
function comparable(response: Response): Record<string, string> {
  const headers = Object.fromEntries(response.headers)
  delete headers['x-request-id']
  delete headers.age
  headers['cache-status'] = headers['cache-status']?.replace(/ttl=\d+/, 'ttl=N') ?? ''
  headers['cache-control'] = headers['cache-control']?.replace(/max-age=\d+/, 'max-age=N') ?? ''
  return headers
}

function comparableLine(line: Record<string, unknown> | undefined) {
  const { request_id, duration_ms, cache_status, ...rest } = line ?? {}
  return { ...rest, cache_status: String(cache_status).replace(/ttl=\d+/, 'ttl=N') }
}

describe('the memory-hit path', () => {
  it('answers a fresh memory hit without the router', async () => {
    const { routed, send } = countingWorker()
    expect((await send(PATH)).headers.get('cache-status')).toBe('asset-edge; fwd=miss; stored')
    expect(routed.count).toBe(1)
    const hit = await send(PATH)
    expect(hit.status).toBe(200)
    expect(hit.headers.get('cache-status')).toMatch(/^asset-edge; hit; detail=memory; ttl=\d+$/)
    expect(routed.count).toBe(1)
  })

  it('gives the same headers, body and access-log line as the full path', async () => {
    const fast = countingWorker(true)
    const full = countingWorker(false)
    await fast.send(PATH)
    await full.send(PATH) // same world: a memory hit for both from here
    const points: unknown[] = []
    const METRICS = { writeDataPoint: (point: unknown) => points.push(point) } as AnalyticsEngineDataset
    for (const headers of [{}, { 'x-request-id': 'caller-id-12345' }] as Record<string, string>[]) {
      const before = accessLines().length
      const a = await fast.send(PATH, headers, 'GET', { METRICS })
      const b = await full.send(PATH, headers, 'GET', { METRICS })
      expect(fast.routed.count).toBe(1)
      expect(comparable(a)).toEqual(comparable(b))
      expect(await a.text()).toBe(await b.text())
      const [la, lb] = accessLines().slice(before)
      expect(comparableLine(la)).toEqual(comparableLine(lb))
      expect(la).toMatchObject({ route: '/sync/v2/assets/:id', provider: 'sync', status: 200 })
      // The same metrics data point: a lookup of sync answered from memory.
      expect(points.splice(0)).toEqual([
        { blobs: ['lookup', 'sync', 'memory', ''], doubles: [200, 0, 0, expect.any(Number)], indexes: ['sync'] },
        { blobs: ['lookup', 'sync', 'memory', ''], doubles: [200, 0, 0, expect.any(Number)], indexes: ['sync'] },
      ])
      if ('x-request-id' in headers) expect([a.headers.get('x-request-id'), la?.request_id]).toEqual(['caller-id-12345', 'caller-id-12345'])
    }
  })

  it('answers If-None-Match with the same 304 as the full path', async () => {
    const fast = countingWorker(true)
    const full = countingWorker(false)
    const etag = (await fast.send(PATH)).headers.get('etag') ?? ''
    const a = await fast.send(PATH, { 'if-none-match': `W/${etag}` })
    const b = await full.send(PATH, { 'if-none-match': `W/${etag}` })
    expect(fast.routed.count).toBe(1)
    expect([a.status, b.status]).toEqual([304, 304])
    expect(comparable(a)).toEqual(comparable(b))
    expect(a.body).toBeNull()
  })

  it('leaves everything it cannot answer as the full path would to the full path', async () => {
    const { routed, send } = countingWorker()
    await send(PATH)
    await send(PATH) // a hit, off the router
    expect(routed.count).toBe(1)

    // No key, an unknown key, a key without the provider's scope: refused by the full path.
    await expectProblem(await send(PATH, { authorization: '' }), 401, 'missing_api_key')
    await expectProblem(await send(PATH, { authorization: 'Bearer ae_not_a_key' }), 401, 'invalid_api_key')
    const gumnutOnly = await createKey({ providers: ['gumnut'] })
    await expectProblem(await send(PATH, { authorization: `Bearer ${gumnutOnly}` }), 403, 'forbidden_scope')
    expect(routed.count).toBe(4)
    // ... even once the full path has verified (and cached) that key.
    await expectProblem(await send(PATH, { authorization: `Bearer ${gumnutOnly}` }), 403, 'forbidden_scope')
    expect(routed.count).toBe(5)

    // The client's no-cache revalidates with the provider.
    const revalidated = await send(PATH, { 'cache-control': 'no-cache' })
    expect(revalidated.headers.get('cache-status')).toBe('asset-edge; fwd=request; stored')
    expect(routed.count).toBe(6)

    // A provider without its secrets is not served, not even from memory.
    await expectProblem(await send(PATH, {}, 'GET', { SYNC_API_KEY: '' }), 503, 'provider_not_configured')
    expect(routed.count).toBe(7)

    // HEAD, and a path the full path has not parsed in this isolate (another spelling of the query).
    expect((await send(PATH, {}, 'HEAD')).status).toBe(200)
    expect((await send(`${PATH}?`)).status).toBe(200)
    expect(routed.count).toBe(9)
  })

  it('never answers a cached "no such asset" (the full path replays the provider\'s answer)', async () => {
    const { routed, send } = countingWorker()
    const missing = '/sync/v2/assets/3fa85f64-5717-4562-b3fc-2c963f66afa6'
    const first = await send(missing)
    const second = await send(missing)
    expect([first.status, second.status]).toEqual([404, 404])
    expect(second.headers.get('cache-status')).toMatch(/hit; detail=memory/)
    expect(routed.count).toBe(2)
  })
})
