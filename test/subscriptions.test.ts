import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app'
import { destinationProblem } from '../src/events/destination'
import { IsolateState } from '../src/isolate-state'
import { PROVIDERS } from '../src/providers'
import { receiver, TestQueues } from './events-pipeline'
import { createKey, DEV_KEY, expectProblem, ORIGIN, resetState, run } from './helpers'
import { captured } from './setup/leak-scan'

beforeEach(resetState)

let queues: TestQueues
beforeEach(() => {
  queues = new TestQueues()
})

async function api(path: string, init: RequestInit = {}, key = DEV_KEY): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${key}`)
  if (init.body) headers.set('content-type', 'application/json')
  return run(new Request(new URL(path, ORIGIN), { ...init, headers }), { env: queues.env() })
}
const create = (body: unknown, key = DEV_KEY) => api('/subscriptions', { method: 'POST', body: JSON.stringify(body) }, key)

describe('subscriptions API', () => {
  it('creates (the secret shown once), lists, reads and deletes', async () => {
    const response = await create({ url: 'https://hooks.test/in', types: ['asset.ready'], description: 'pipeline' })
    expect(response.status).toBe(201)
    const sub = (await response.json()) as Record<string, unknown>
    expect(sub).toMatchObject({
      url: 'https://hooks.test/in',
      providers: ['spotify', 'sync', 'gumnut', 'frameio'],
      types: ['asset.ready'],
      description: 'pipeline',
    })
    expect(String(sub.secret)).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(String(sub.id)).toMatch(/^sub_/)
    expect(response.headers.get('location')).toBe(`/subscriptions/${sub.id}`)

    const listed = (await (await api('/subscriptions')).json()) as { subscriptions: Record<string, unknown>[] }
    expect(listed.subscriptions.map((s) => s.id)).toEqual([sub.id])
    const one = (await (await api(`/subscriptions/${sub.id}`)).json()) as Record<string, unknown>
    expect(one).not.toHaveProperty('secret')
    expect(JSON.stringify(listed)).not.toContain(String(sub.secret))
    expect(JSON.stringify(one)).not.toContain(String(sub.secret))

    // Another key sees none of it.
    const other = await createKey({ events: true })
    expect(((await (await api('/subscriptions', {}, other)).json()) as { subscriptions: unknown[] }).subscriptions).toEqual([])
    await expectProblem(await api(`/subscriptions/${sub.id}`, {}, other), 404, 'subscription_not_found')
    await expectProblem(await api(`/subscriptions/${sub.id}`, { method: 'DELETE' }, other), 404, 'subscription_not_found')

    expect((await api(`/subscriptions/${sub.id}`, { method: 'DELETE' })).status).toBe(204)
    await expectProblem(await api(`/subscriptions/${sub.id}`), 404, 'subscription_not_found')
  })

  it('needs the events scope', async () => {
    const plain = await createKey({ providers: ['*'], links: true, admin: true })
    await expectProblem(await create({ url: 'https://hooks.test/in' }, plain), 403, 'forbidden_scope')
    await expectProblem(await api('/subscriptions', {}, plain), 403, 'forbidden_scope')
    await expectProblem(await api('/subscriptions', {}, 'ae_not_a_key_at_all'), 401, 'invalid_api_key')
  })

  it('refuses bad bodies with the declared problems', async () => {
    await expectProblem(await create({}), 400, 'invalid_body')
    await expectProblem(await create({ url: 'https://hooks.test/in', colour: 'red' }), 400, 'unknown_field')
    await expectProblem(await create({ url: 'ftp://hooks.test/in' }), 422, 'invalid_destination')
    await expectProblem(await create({ url: 'https://hooks.test/in', providers: ['dropbox'] }), 422, 'unknown_provider')
    await expectProblem(await create({ url: 'https://hooks.test/in', types: ['asset.exploded'] }), 422, 'unknown_event_type')
    await expectProblem(await create({ url: 'https://hooks.test/in', providers: [] }), 400, 'invalid_body')
    const huge = await api('/subscriptions', { method: 'POST', body: JSON.stringify({ url: 'https://hooks.test/in', description: 'x'.repeat(20_000) }) })
    await expectProblem(huge, 413, 'body_too_large')
  })

  it('a key holds at most 50 subscriptions', async () => {
    const key = await createKey({ events: true })
    for (let i = 0; i < 50; i++) expect((await create({ url: `https://hooks.test/${i}` }, key)).status).toBe(201)
    await expectProblem(await create({ url: 'https://hooks.test/51' }, key), 409, 'too_many_subscriptions')
  }, 30_000)

  it('test sends a ping; rotation keeps the old secret signing beside the new one', async () => {
    const sub = (await (await create({ url: 'https://hooks.test/in' })).json()) as { id: string; secret: string }
    const rotated = await api(`/subscriptions/${sub.id}/rotate-secret`, { method: 'POST' })
    expect(rotated.status).toBe(200)
    const after = (await rotated.json()) as { secret: string; previous_secret_expires_at: string }
    expect(after.secret).not.toBe(sub.secret)
    const overlap = Date.parse(after.previous_secret_expires_at) - Date.now()
    expect(overlap).toBeGreaterThan(23.9 * 3600_000)
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000)

    expect((await api(`/subscriptions/${sub.id}/test`, { method: 'POST' })).status).toBe(202)
    const old = receiver(() => [sub.secret])
    await queues.drain(old.fetcher)
    expect(old.received.map((r) => r.event)).toMatchObject([{ type: 'ping', subscription_id: sub.id }])

    await api(`/subscriptions/${sub.id}/test`, { method: 'POST' })
    const fresh = receiver(() => [after.secret])
    await queues.drain(fresh.fetcher)
    expect(fresh.received).toHaveLength(1)

    // Past the 24 hours only the new secret signs.
    const stored = await env.ASSET_KV.get<{ secrets: { secret: string; expires_at?: string }[] }>(`sub:${sub.id}`, 'json')
    const expired = {
      ...stored,
      secrets: (stored?.secrets ?? []).map((s) => (s.expires_at ? { ...s, expires_at: new Date(Date.now() - 1).toISOString() } : s)),
    }
    await env.ASSET_KV.put(`sub:${sub.id}`, JSON.stringify(expired))
    await api(`/subscriptions/${sub.id}/test`, { method: 'POST' })
    const late = receiver(() => [sub.secret])
    await queues.drain(late.fetcher, 1)
    expect(late.received).toHaveLength(0)
    expect(late.refused).toHaveLength(1)
  })

  it('redeliver: 404 event_not_found for an unknown event', async () => {
    const sub = (await (await create({ url: 'https://hooks.test/in' })).json()) as { id: string }
    await expectProblem(await api(`/subscriptions/${sub.id}/deliveries/evt_0000/redeliver`, { method: 'POST' }), 404, 'event_not_found')
    await expectProblem(await api(`/subscriptions/${sub.id}/deliveries?limit=0`), 400, 'invalid_query')
  })

  it('no signing secret reaches a log line', async () => {
    const sub = (await (await create({ url: 'https://hooks.test/in' })).json()) as { id: string; secret: string }
    await api(`/subscriptions/${sub.id}/test`, { method: 'POST' })
    await queues.drain(receiver(() => [sub.secret]).fetcher)
    expect(captured.logs.some((line) => line.includes(sub.secret))).toBe(false)
  })
})

describe('destinations', () => {
  it('the production entry refuses http and private destinations, and takes a public https one', async () => {
    const key = await createKey({ events: true })
    const { app } = createApp({ providers: PROVIDERS, isolate: new IsolateState(), edgeNamespace: `test-${crypto.randomUUID()}` })
    const post = async (url: string) => {
      const ctx = createExecutionContext()
      const request = new Request(`${ORIGIN}/subscriptions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url }),
      })
      const response = await app.fetch(request, env, ctx)
      await waitOnExecutionContext(ctx)
      return response
    }
    await expectProblem(await post('http://hooks.example.com/in'), 422, 'invalid_destination')
    await expectProblem(await post('https://169.254.169.254/latest'), 422, 'invalid_destination')
    await expectProblem(await post('https://localhost:8790/'), 422, 'invalid_destination')
    expect((await post('https://hooks.example.com/in')).status).toBe(201)
  })

  it('production: https on a public host only', () => {
    expect(destinationProblem('https://hooks.example.com/in', false)).toBeUndefined()
    expect(destinationProblem('https://203.0.113.7/in', false)).toBeUndefined()
    for (const url of [
      'http://hooks.example.com/in',
      'https://localhost/in',
      'https://api.localhost/in',
      'https://127.0.0.1/in',
      'https://10.1.2.3/in',
      'https://172.16.0.1/in',
      'https://192.168.1.1/in',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/in',
      'https://0.0.0.0/in',
      'https://[::1]/in',
      'https://[fe80::1]/in',
      'https://[fd00::1]/in',
      'https://[::ffff:127.0.0.1]/in',
      'https://2130706433/in',
      'https://user:pass@hooks.example.com/in',
      'not a url',
    ]) {
      expect(destinationProblem(url, false), url).toBeTypeOf('string')
    }
  })

  it('the dev entry also takes http and local hosts', () => {
    expect(destinationProblem('http://localhost:9999/in', true)).toBeUndefined()
    expect(destinationProblem('ftp://localhost/in', true)).toBeTypeOf('string')
  })
})
