import { exports } from 'cloudflare:workers'
import { Validator } from '@cfworker/json-schema'
import createClient from 'openapi-fetch'
import { beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app'
import type { paths } from '../src/generated/asset-edge'
import spec from '../src/generated/asset-edge.openapi.json'
import { PROVIDERS } from '../src/providers'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { createKey, DEV_KEY, ORIGIN, resetState, run, sandboxStats } from './helpers'

/**
 * Calls the Worker through an openapi-fetch client typed from `openapi/asset-edge.yaml` and checks
 * every answer against the schema the spec declares for its status, so spec and behaviour cannot drift.
 */
const client = createClient<paths>({
  baseUrl: ORIGIN,
  headers: { authorization: `Bearer ${DEV_KEY}` },
  fetch: (request) => run(request),
})

const pointer = (...parts: string[]) => `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`

type Method = 'get' | 'post'
type SpecResponse = { $ref?: string; content?: Record<string, unknown> }
type SpecPaths = Record<string, Partial<Record<string, { responses: Record<string, SpecResponse> }>>>

/** Resolves a `$ref`'d response object to its schema pointer for one content type (the answer's, when the response declares several). */
function schemaPointer(path: string, status: number, method: Method = 'get', contentType = ''): { pointer: string; mediaType: string } {
  const doc = spec as unknown as { paths: SpecPaths }
  let response = doc.paths[path]?.[method]?.responses[String(status)]
  let base = pointer('paths', path, method, 'responses', String(status))
  expect(response, `${method.toUpperCase()} ${path} declares ${status}`).toBeDefined()
  if (response?.$ref) {
    base = response.$ref
    const name = response.$ref.split('/').pop() ?? ''
    response = (spec as unknown as { components: { responses: Record<string, typeof response> } }).components.responses[name]
  }
  const declared = Object.keys(response?.content ?? {})
  const mediaType = declared.find((type) => contentType.split(';')[0]?.trim() === type) ?? declared[0] ?? ''
  return { pointer: `${base}/content/${mediaType.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`, mediaType }
}

/** Checks `body` against the schema the spec declares for `method path` at `response.status` (GET unless told). */
async function expectConforms(path: string, response: Response, body: unknown, method: Method = 'get') {
  const { pointer: ptr, mediaType } = schemaPointer(path, response.status, method, response.headers.get('content-type') ?? '')
  expect(response.headers.get('content-type') ?? '').toContain(mediaType)
  const validator = new Validator({ ...(spec as object), $ref: ptr } as never, '2020-12', false)
  const result = validator.validate(body)
  expect(
    result.errors.map((e) => `${e.instanceLocation}: ${e.error}`),
    `${method.toUpperCase()} ${path} ${response.status}`,
  ).toEqual([])
}

/** A Hono route path as the spec writes it: `:param` (with any `{pattern}` or `?`) becomes `{param}`. */
const specPath = (honoPath: string) => honoPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)(\{[^}]*\})?\??/g, '{$1}')

beforeEach(resetState)

describe('the gateway behaves as openapi/asset-edge.yaml says', () => {
  it('spotify lookup', async () => {
    for (const asset_id of [SAMPLE.image, SAMPLE.video, SAMPLE.audio, SAMPLE.processing]) {
      const { data, response } = await client.GET('/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', {
        params: { path: { ad_account_id: SAMPLE.adAccount, asset_id } },
      })
      expect(response.status).toBe(200)
      await expectConforms('/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', response, data)
    }
  })

  it('sync lookup', async () => {
    for (const id of [SAMPLE.image, SAMPLE.video, SAMPLE.audio, SAMPLE.processing]) {
      const { data, response } = await client.GET('/sync/v2/assets/{id}', { params: { path: { id } } })
      expect(response.status).toBe(200)
      await expectConforms('/sync/v2/assets/{id}', response, data)
    }
  })

  it('gumnut lookup, with and without include', async () => {
    for (const include of [undefined, ['variants', 'faces', 'people', 'metadata', 'metrics', 'file_data'] as const]) {
      for (const asset_id of [GUMNUT_SAMPLE.image, GUMNUT_SAMPLE.video, GUMNUT_SAMPLE.processing, GUMNUT_SAMPLE.deleted]) {
        const { data, response } = await client.GET('/gumnut/api/assets/{asset_id}', {
          params: { path: { asset_id }, query: include ? { include: [...include] } : {} },
        })
        expect(response.status).toBe(200)
        await expectConforms('/gumnut/api/assets/{asset_id}', response, data)
      }
    }
  })

  it('frameio lookup', async () => {
    for (const asset_id of [SAMPLE.image, SAMPLE.video, SAMPLE.processing]) {
      const { data, response } = await client.GET('/frameio/v2/assets/{asset_id}', { params: { path: { asset_id } } })
      expect(response.status).toBe(200)
      await expectConforms('/frameio/v2/assets/{asset_id}', response, data)
    }
  })

  it('error answers match their declared problem responses', async () => {
    const cases = [
      { path: '/sync/v2/assets/{id}', id: 'nope', status: 400 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.unknown, status: 404 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail429, status: 429 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail500, status: 500 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail401, status: 401 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail403, status: 403 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail400, status: 400 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.malformed, status: 502 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.hang, status: 504 },
    ] as const
    for (const c of cases) {
      const { error, response } = await client.GET('/sync/v2/assets/{id}', { params: { path: { id: c.id } } })
      expect(response.status).toBe(c.status)
      await expectConforms(c.path, response, error)
    }
    const { error, response } = await client.GET('/gumnut/api/assets/{asset_id}', {
      params: { path: { asset_id: GUMNUT_SAMPLE.image }, query: { include: ['selfies'] } },
    })
    expect(response.status).toBe(422)
    expect(response.headers.get('content-type')).toBe('application/json') // Gumnut's own 422, passed through
    await expectConforms('/gumnut/api/assets/{asset_id}', response, error)
    for (const [path, url] of [
      ['/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.fail429}`],
      ['/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.unknown}`],
      ['/frameio/v2/assets/{asset_id}', `/frameio/v2/assets/${SAMPLE.unknown}`],
      ['/frameio/v2/assets/{asset_id}', `/frameio/v2/assets/${SAMPLE.fail401}`],
      ['/gumnut/api/assets/{asset_id}', `/gumnut/api/assets/${GUMNUT_SAMPLE.unknown}`],
      ['/gumnut/api/assets/{asset_id}', `/gumnut/api/assets/${GUMNUT_SAMPLE.fail400}`],
    ] as const) {
      const answer = await run(new Request(`${ORIGIN}${url}`, { headers: { authorization: `Bearer ${DEV_KEY}` } }))
      expect(answer.status, url).toBeGreaterThanOrEqual(400)
      await expectConforms(path, answer, await answer.json())
    }
    const noKey = createClient<paths>({ baseUrl: ORIGIN, fetch: (request) => exports.default.fetch(request) })
    const unauthorized = await noKey.GET('/sync/v2/assets/{id}', { params: { path: { id: SAMPLE.video } } })
    expect(unauthorized.response.status).toBe(401)
    await expectConforms('/sync/v2/assets/{id}', unauthorized.response, unauthorized.error)
  })

  it('meta routes', async () => {
    const health = await client.GET('/healthz')
    await expectConforms('/healthz', health.response, health.data)
    const doc = await client.GET('/openapi.json')
    expect(doc.response.status).toBe(200)
    expect(doc.data).toEqual(spec)
    const docs = await client.GET('/docs', { parseAs: 'text' })
    expect(docs.response.headers.get('content-type')).toContain('text/html')
    expect(docs.data).toContain('/openapi.json')
  })

  it('only-if-cached: 504 not_cached when nothing is cached, without asking the provider', async () => {
    const onlyIfCached = { 'Cache-Control': 'only-if-cached' }
    const { error, response } = await client.GET('/sync/v2/assets/{id}', { params: { path: { id: SAMPLE.audio }, header: onlyIfCached } })
    expect(response.status).toBe(504)
    expect(error).toMatchObject({ code: 'not_cached', status: 504 })
    expect(response.headers.get('cache-status')).toBe('asset-edge; fwd=miss; detail=only-if-cached')
    expect(sandboxStats.calls('sync')).toBe(0)
    await expectConforms('/sync/v2/assets/{id}', response, error)

    // Once cached, the same request is answered from the cache.
    expect((await client.GET('/sync/v2/assets/{id}', { params: { path: { id: SAMPLE.audio } } })).response.status).toBe(200)
    const cached = await client.GET('/sync/v2/assets/{id}', { params: { path: { id: SAMPLE.audio }, header: onlyIfCached } })
    expect(cached.response.status).toBe(200)
    expect(cached.response.headers.get('cache-status')).toMatch(/^asset-edge; hit; /)
    expect(sandboxStats.calls('sync')).toBe(1)
    await expectConforms('/sync/v2/assets/{id}', cached.response, cached.data)
  })

  it('POST /purge', async () => {
    const asset = { asset_id: GUMNUT_SAMPLE.image }
    expect((await client.GET('/gumnut/api/assets/{asset_id}', { params: { path: asset } })).response.status).toBe(200)
    const { data, response } = await client.POST('/purge', { body: { provider: 'gumnut', assets: [asset] } })
    expect(response.status).toBe(200)
    expect(data).toMatchObject({ provider: 'gumnut', assets: 1, keys_removed: 1, edge_everywhere: 'not_configured' })
    await expectConforms('/purge', response, data, 'post')

    const notAdmin = await createKey({ providers: ['*'], links: true, admin: false })
    const forbidden = await client.POST('/purge', { body: { provider: 'gumnut', assets: [asset] }, headers: { authorization: `Bearer ${notAdmin}` } })
    expect(forbidden.response.status).toBe(403)
    expect(forbidden.error).toMatchObject({ code: 'forbidden_scope' })
    await expectConforms('/purge', forbidden.response, forbidden.error, 'post')

    const unknown = await client.POST('/purge', { body: { provider: 'dropbox' as 'sync', assets: [{ id: SAMPLE.video }] } })
    expect(unknown.response.status).toBe(422)
    await expectConforms('/purge', unknown.response, unknown.error, 'post')
    const empty = await client.POST('/purge', { body: { provider: 'sync', assets: [] } })
    expect(empty.response.status).toBe(400)
    await expectConforms('/purge', empty.response, empty.error, 'post')
  })

  it('GET /admin/cache', async () => {
    await client.GET('/sync/v2/assets/{id}', { params: { path: { id: SAMPLE.video } } })
    const { data, response } = await client.GET('/admin/cache')
    expect(response.status).toBe(200)
    expect(data?.memory?.entries).toBeGreaterThan(0)
    await expectConforms('/admin/cache', response, data)

    const notAdmin = await createKey({ providers: ['*'] })
    const forbidden = await client.GET('/admin/cache', { headers: { authorization: `Bearer ${notAdmin}` } })
    expect(forbidden.response.status).toBe(403)
    await expectConforms('/admin/cache', forbidden.response, forbidden.error)
  })

  it('POST /webhooks/frameio', async () => {
    const secret = 'test-frameio-webhook-secret' // FRAMEIO_WEBHOOK_SECRET in vitest.config.ts
    const deliver = async (event: { type: string; resource: { type?: string; id: string } }) => {
      const raw = JSON.stringify(event)
      const signed = await signFrameioWebhook(secret, raw, Math.floor(Date.now() / 1000))
      return client.POST('/webhooks/frameio', {
        params: {
          header: { 'X-Frameio-Request-Timestamp': signed['x-frameio-request-timestamp'] ?? '', 'X-Frameio-Signature': signed['x-frameio-signature'] ?? '' },
        },
        body: event,
        bodySerializer: () => raw, // the bytes signed are the bytes sent
      })
    }

    const applied = await deliver({ type: 'asset.created', resource: { type: 'asset', id: SAMPLE.image } })
    expect(applied.response.status).toBe(202)
    expect(applied.data).toEqual({ received: true, type: 'asset.created', effect: 'invalidate' })
    await expectConforms('/webhooks/frameio', applied.response, applied.data, 'post')

    const ignored = await deliver({ type: 'comment.created', resource: { type: 'comment', id: 'c1' } })
    expect(ignored.response.status).toBe(202)
    expect(ignored.data).toEqual({ received: true, ignored: true, type: 'comment.created' })
    await expectConforms('/webhooks/frameio', ignored.response, ignored.data, 'post')

    const unsigned = await client.POST('/webhooks/frameio', {
      params: { header: {} as { 'X-Frameio-Request-Timestamp': string; 'X-Frameio-Signature': string } },
      body: { type: 'asset.updated', resource: { type: 'asset', id: SAMPLE.image } },
    })
    expect(unsigned.response.status).toBe(401)
    expect(unsigned.error).toMatchObject({ code: 'webhook_unsigned' })
    await expectConforms('/webhooks/frameio', unsigned.response, unsigned.error, 'post')
  })

  it('subscriptions', async () => {
    const created = await client.POST('/subscriptions', { body: { url: 'https://hooks.test/in', providers: ['gumnut'], types: ['asset.ready'] } })
    expect(created.response.status).toBe(201)
    await expectConforms('/subscriptions', created.response, created.data, 'post')
    const id = created.data?.id ?? ''
    const listed = await client.GET('/subscriptions')
    await expectConforms('/subscriptions', listed.response, listed.data)
    const one = await client.GET('/subscriptions/{id}', { params: { path: { id } } })
    await expectConforms('/subscriptions/{id}', one.response, one.data)
    const rotated = await client.POST('/subscriptions/{id}/rotate-secret', { params: { path: { id } } })
    await expectConforms('/subscriptions/{id}/rotate-secret', rotated.response, rotated.data, 'post')
    const ping = await client.POST('/subscriptions/{id}/test', { params: { path: { id } } })
    expect(ping.response.status).toBe(202)
    await expectConforms('/subscriptions/{id}/test', ping.response, ping.data, 'post')
    const log = await client.GET('/subscriptions/{id}/deliveries', { params: { path: { id } } })
    await expectConforms('/subscriptions/{id}/deliveries', log.response, log.data)
    const bad = await client.POST('/subscriptions', { body: { url: 'ftp://x', types: ['asset.ready'] } })
    expect(bad.response.status).toBe(422)
    await expectConforms('/subscriptions', bad.response, bad.error, 'post')
    const none = await client.GET('/subscriptions/{id}', { params: { path: { id: 'sub_missing' } } })
    expect(none.response.status).toBe(404)
    await expectConforms('/subscriptions/{id}', none.response, none.error)
  })

  it('the schema check itself rejects bodies that break the spec', () => {
    const check = (path: string, status: number, body: unknown) =>
      new Validator({ ...(spec as object), $ref: schemaPointer(path, status).pointer } as never, '2020-12', false).validate(body).valid
    expect(check('/sync/v2/assets/{id}', 200, { id: SAMPLE.video })).toBe(false) // required fields missing
    expect(check('/sync/v2/assets/{id}', 200, { id: 'x', createdAt: 'x', updatedAt: 'x', type: 'GIF', visibility: 'USER' })).toBe(false)
    expect(check('/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', 200, { id: SAMPLE.image, status: 'DONE' })).toBe(false)
    expect(check('/sync/v2/assets/{id}', 404, { detail: 'not found' })).toBe(false)
    const checkPost = (path: string, status: number, body: unknown) =>
      new Validator({ ...(spec as object), $ref: schemaPointer(path, status, 'post').pointer } as never, '2020-12', false).validate(body).valid
    expect(checkPost('/purge', 200, { provider: 'gumnut', assets: 1, keys_removed: 0, edge_everywhere: 'maybe' })).toBe(false)
    expect(checkPost('/webhooks/frameio', 202, { received: true, type: 'asset.updated', effect: 'explode' })).toBe(false)
  })

  it('the spec lists every route the Worker serves, and the Worker serves every operation the spec lists', () => {
    const doc = spec as unknown as { paths: SpecPaths }
    // Middleware (`use`, `all`) registers as ALL.
    // The production app: the dev entry's sandbox routes are not part of the gateway's API.
    const served = createApp({ providers: PROVIDERS }).app.routes.filter((r) => r.method !== 'ALL')
    const servedOps = new Set(served.map((r) => `${r.method.toLowerCase()} ${specPath(r.path)}`))
    expect(servedOps).toContain('post /purge')
    expect(servedOps).toContain('get /frameio/v2/assets/{asset_id}')

    const unlisted = [...servedOps].filter((op) => {
      const [method = '', path = ''] = op.split(' ')
      return !doc.paths[path]?.[method]
    })
    expect(unlisted, 'routes served but missing from openapi/asset-edge.yaml').toEqual([])

    const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
    const unserved = Object.entries(doc.paths).flatMap(([path, item]) =>
      methods
        .filter((m) => item[m])
        // Hono answers HEAD with the GET route.
        .filter((m) => !servedOps.has(`${m} ${path}`) && !(m === 'head' && servedOps.has(`get ${path}`)))
        .map((m) => `${m} ${path}`),
    )
    expect(unserved, 'operations in openapi/asset-edge.yaml no route serves').toEqual([])
  })

  it('serves every route the spec lists, and the spec lists every lookup route', async () => {
    const specPaths = Object.keys((spec as { paths: Record<string, unknown> }).paths)
    for (const adapter of PROVIDERS.list) {
      expect(specPaths).toContain(adapter.route.replace(/:([a-z_]+)/g, '{$1}'))
    }
  })
})
