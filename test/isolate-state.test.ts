import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { digestKey, KEY_PREFIX } from '../src/http/auth'
import { IsolateState } from '../src/isolate-state'
import { SAMPLE } from '../src/sandbox/samples'
import { createKey, DEV_KEY, fakeSync, ORIGIN, resetState, sandboxStats, syncRecord, UPSTREAM, worldWorker } from './helpers'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

type Worker = ReturnType<typeof worldWorker>

/** One request to one "isolate": a Worker made with its own IsolateState, sharing KV and the Cache API. */
async function ask(worker: Worker, path: string, options: { key?: string; env?: Partial<Env> } = {}): Promise<Response> {
  const ctx = createExecutionContext()
  const request = new Request(new URL(path, ORIGIN), { headers: { authorization: `Bearer ${options.key ?? DEV_KEY}` } })
  const response = await worker.handler.fetch(request, { ...env, ...options.env } as Env, ctx)
  await waitOnExecutionContext(ctx)
  return response
}

const status = (response: Response) => response.headers.get('cache-status') ?? ''
const FRAMEIO = `/frameio/v2/assets/${SAMPLE.image}`

describe('two isolate states side by side', () => {
  it('each isolate has its own memory tier; the Cache API and KV are shared', async () => {
    const [a, b] = [worldWorker({ isolate: new IsolateState() }), worldWorker({ isolate: new IsolateState() })]
    expect(status(await ask(a, FRAMEIO))).toBe('asset-edge; fwd=miss; stored')
    expect(status(await ask(a, FRAMEIO))).toMatch(/hit; detail=memory/)
    expect(status(await ask(b, FRAMEIO))).toMatch(/hit; detail=edge/) // b's memory never saw it
    expect(status(await ask(b, FRAMEIO))).toMatch(/hit; detail=memory/)
    expect(sandboxStats.calls('frameio')).toBe(1)
  })

  it('a revoked key keeps working only in the isolate that verified it, for at most KEY_CACHE_TTL_S', async () => {
    const [a, b] = [worldWorker({ isolate: new IsolateState() }), worldWorker({ isolate: new IsolateState() })]
    const key = await createKey({})
    expect((await ask(a, FRAMEIO, { key })).status).toBe(200)
    await env.ASSET_KV.delete(KEY_PREFIX + (await digestKey(key)))
    expect((await ask(a, FRAMEIO, { key })).status).toBe(200) // a's key cache still trusts it
    expect((await ask(b, FRAMEIO, { key })).status).toBe(401)
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 31_000) // past KEY_CACHE_TTL_S (30 s)
    expect((await ask(a, FRAMEIO, { key })).status).toBe(401)
  })

  it('concurrent misses join one upstream call per isolate, not across isolates', async () => {
    const upstream = fakeSync(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      return syncRecord(SAMPLE.video, 'one call')
    })
    const options = { fetch: upstream.fetcher }
    const [a, b] = [worldWorker({ ...options, isolate: new IsolateState() }), worldWorker({ ...options, isolate: new IsolateState() })]
    const path = `/sync/v2/assets/${SAMPLE.video}`
    const answers = await Promise.all([a, b, a, b, a, b].map((w) => ask(w, path, { env: { SYNC_BASE_URL: UPSTREAM } })))
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200])
    expect(upstream.state.calls).toBe(2)
  })
})

describe('routes without a key', () => {
  it('an unknown path is a 404 problem, with or without a key', async () => {
    const worker = worldWorker()
    for (const headers of [{}, { authorization: `Bearer ${DEV_KEY}` }] as Record<string, string>[]) {
      const ctx = createExecutionContext()
      const response = await worker.handler.fetch(new Request(`${ORIGIN}/nope`, { headers }), env, ctx)
      await waitOnExecutionContext(ctx)
      expect(response.status).toBe(404)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(((await response.json()) as { code: string }).code).toBe('not_found')
    }
  })
})
