import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { callApp, createKey, expectProblem, resetState, sandboxStats } from './helpers'

beforeEach(resetState)

const purge = (body: unknown, options: { key?: string; env?: Partial<Env>; fetch?: typeof fetch } = {}) =>
  callApp('/purge', { ...options, init: { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } })

describe('POST /purge', () => {
  it('removes every cached variant of an asset from memory, Cache API and KV', async () => {
    const base = `/gumnut/api/assets/${GUMNUT_SAMPLE.image}`
    for (const q of ['', '?include=faces', '?include=variants,metadata']) await callApp(base + q)
    await callApp(`/gumnut/api/assets/${GUMNUT_SAMPLE.video}`)
    expect(sandboxStats.calls('gumnut')).toBe(4)
    expect((await env.ASSET_KV.list({ prefix: 'cache:gumnut/' })).keys).toHaveLength(4)

    const { response } = await purge({ provider: 'gumnut', assets: [{ asset_id: GUMNUT_SAMPLE.image }] })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { keys_removed: number; edge_everywhere: string }
    // A count: the keys would tell an admin which query variants other callers looked up.
    expect(body.keys_removed).toBe(3)
    expect(body.edge_everywhere).toBe('not_configured')
    expect((await env.ASSET_KV.list({ prefix: 'cache:gumnut/' })).keys.map((k) => k.name)).toEqual([`cache:gumnut/${GUMNUT_SAMPLE.video}`])

    for (const q of ['', '?include=faces']) {
      const again = (await callApp(base + q)).response
      expect(again.headers.get('cache-status')).toMatch(/fwd=miss/)
    }
    expect((await callApp(`/gumnut/api/assets/${GUMNUT_SAMPLE.video}`)).response.headers.get('cache-status')).toMatch(/hit/)
  })

  it('purges Spotify assets by both path ids', async () => {
    const path = `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.image}`
    await callApp(path)
    await purge({ provider: 'spotify', assets: [{ ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.image }] })
    expect((await callApp(path)).response.headers.get('cache-status')).toMatch(/fwd=miss/)
  })

  it('purges every data centre by cache tag when CF_ZONE_ID and CF_API_TOKEN are set', async () => {
    const calls: { url: string; body: string; auth: string | null }[] = []
    const fetcher: typeof fetch = async (input, init) => {
      const request = new Request(input, init)
      calls.push({ url: request.url, body: await request.text(), auth: request.headers.get('authorization') })
      return Response.json({ success: true })
    }
    const { response } = await purge(
      { provider: 'frameio', assets: [{ asset_id: SAMPLE.image }, { asset_id: SAMPLE.video }] },
      { env: { CF_ZONE_ID: 'zone123', CF_API_TOKEN: 'cf-secret-token' }, fetch: fetcher },
    )
    expect(((await response.json()) as { edge_everywhere: string }).edge_everywhere).toBe('purged')
    expect(calls).toEqual([
      {
        url: 'https://api.cloudflare.com/client/v4/zones/zone123/purge_cache',
        body: JSON.stringify({ tags: [`frameio/${SAMPLE.image}`, `frameio/${SAMPLE.video}`] }),
        auth: 'Bearer cf-secret-token',
      },
    ])
  })

  it('needs the admin scope', async () => {
    const key = await createKey({ providers: ['*'], links: true, admin: false })
    await expectProblem((await purge({ provider: 'sync', assets: [{ id: SAMPLE.video }] }, { key })).response, 403, 'forbidden_scope')
  })

  it("needs the provider's scope too: an admin of one provider purges nothing of another (issue 15 finding 3)", async () => {
    const path = `/frameio/v2/assets/${SAMPLE.image}`
    await callApp(path)
    const gumnutAdmin = await createKey({ providers: ['gumnut'], admin: true })
    const refused = (await purge({ provider: 'frameio', assets: [{ asset_id: SAMPLE.image }] }, { key: gumnutAdmin })).response
    await expectProblem(refused, 403, 'forbidden_scope')
    expect((await callApp(path)).response.headers.get('cache-status')).toMatch(/hit/) // still cached
    const allowed = (await purge({ provider: 'gumnut', assets: [{ asset_id: GUMNUT_SAMPLE.image }] }, { key: gumnutAdmin })).response
    expect(allowed.status).toBe(200)
  })

  it.each([
    [undefined, 400, 'invalid_body'],
    [{ provider: 'sync' }, 400, 'invalid_body'],
    [{ provider: 'dropbox', assets: [{ id: SAMPLE.video }] }, 422, 'unknown_provider'],
    [{ provider: 'sync', assets: [] }, 400, 'invalid_body'],
    [{ provider: 'sync', assets: [{ id: 'nope' }] }, 400, 'invalid_id'],
    [{ provider: 'sync', assets: [{ id: 5 }] }, 400, 'invalid_body'],
  ])('refuses %j with %i %s', async (body, status, code) => {
    await expectProblem((await purge(body)).response, status, code)
  })
})

describe('GET /admin/cache', () => {
  it('reports the memory tier to admins only', async () => {
    await callApp(`/sync/v2/assets/${SAMPLE.video}`)
    const { response } = await callApp('/admin/cache')
    const body = (await response.json()) as { memory: { entries: number; bytes: number; maxBytes: number } }
    expect(body.memory.entries).toBe(1)
    expect(body.memory.bytes).toBeGreaterThan(0)
    expect(body.memory.bytes).toBeLessThanOrEqual(body.memory.maxBytes)
    const key = await createKey({})
    await expectProblem((await callApp('/admin/cache', { key })).response, 403, 'forbidden_scope')
  })
})
