import { Validator } from '@cfworker/json-schema'
import { exports } from 'cloudflare:workers'
import createClient from 'openapi-fetch'
import { beforeEach, describe, expect, it } from 'vitest'
import type { paths } from '../src/generated/asset-edge'
import spec from '../src/generated/asset-edge.openapi.json'
import { GUMNUT_SAMPLE, SAMPLE } from '../src/sandbox/ids'
import { DEV_KEY, ORIGIN, resetState } from './helpers'

/**
 * Calls the Worker through an openapi-fetch client typed from `openapi/asset-edge.yaml` and checks
 * every answer against the schema the spec declares for its status, so spec and behaviour cannot drift.
 */
const client = createClient<paths>({
  baseUrl: ORIGIN,
  headers: { authorization: `Bearer ${DEV_KEY}` },
  fetch: (request) => exports.default.fetch(request),
})

const pointer = (...parts: string[]) => `#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`

/** Resolves a `$ref`'d response object to its schema pointer for one content type. */
function schemaPointer(path: string, status: number): { pointer: string; mediaType: string } {
  const doc = spec as unknown as { paths: Record<string, { get: { responses: Record<string, { $ref?: string; content?: Record<string, unknown> }> } }> }
  let response = doc.paths[path]?.get.responses[String(status)]
  let base = pointer('paths', path, 'get', 'responses', String(status))
  expect(response, `${path} declares ${status}`).toBeDefined()
  if (response?.$ref) {
    base = response.$ref
    const name = response.$ref.split('/').pop() ?? ''
    response = (spec as unknown as { components: { responses: Record<string, typeof response> } }).components.responses[name]
  }
  const mediaType = Object.keys(response?.content ?? {})[0] ?? ''
  return { pointer: `${base}/content/${mediaType.replace(/~/g, '~0').replace(/\//g, '~1')}/schema`, mediaType }
}

async function expectConforms(path: string, response: Response, body: unknown) {
  const { pointer: ptr, mediaType } = schemaPointer(path, response.status)
  expect(response.headers.get('content-type') ?? '').toContain(mediaType)
  const validator = new Validator({ ...(spec as object), $ref: ptr } as never, '2020-12', false)
  const result = validator.validate(body)
  expect(result.errors.map((e) => `${e.instanceLocation}: ${e.error}`), `${path} ${response.status}`).toEqual([])
}

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
      { path: '/sync/v2/assets/{id}', id: SAMPLE.fail500, status: 502 },
      { path: '/sync/v2/assets/{id}', id: SAMPLE.hang, status: 504 },
    ] as const
    for (const c of cases) {
      const { error, response } = await client.GET('/sync/v2/assets/{id}', { params: { path: { id: c.id } } })
      expect(response.status).toBe(c.status)
      await expectConforms(c.path, response, error)
    }
    const { error, response } = await client.GET('/gumnut/api/assets/{asset_id}', {
      params: { path: { asset_id: GUMNUT_SAMPLE.image }, query: { include: ['selfies' as 'faces'] } },
    })
    expect(response.status).toBe(422)
    await expectConforms('/gumnut/api/assets/{asset_id}', response, error)
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

  it('the schema check itself rejects bodies that break the spec', () => {
    const check = (path: string, status: number, body: unknown) =>
      new Validator({ ...(spec as object), $ref: schemaPointer(path, status).pointer } as never, '2020-12', false).validate(body).valid
    expect(check('/sync/v2/assets/{id}', 200, { id: SAMPLE.video })).toBe(false) // required fields missing
    expect(check('/sync/v2/assets/{id}', 200, { id: 'x', createdAt: 'x', updatedAt: 'x', type: 'GIF', visibility: 'USER' })).toBe(false)
    expect(check('/spotify/ad_accounts/{ad_account_id}/assets/{asset_id}', 200, { id: SAMPLE.image, status: 'DONE' })).toBe(false)
    expect(check('/sync/v2/assets/{id}', 404, { detail: 'not found' })).toBe(false)
  })

  it('serves every route the spec lists, and the spec lists every lookup route', async () => {
    const { PROVIDERS } = await import('../src/providers')
    const specPaths = Object.keys((spec as { paths: Record<string, unknown> }).paths)
    for (const adapter of Object.values(PROVIDERS)) {
      expect(specPaths).toContain(adapter.route.replace(/:([a-z_]+)/g, '{$1}'))
    }
  })
})
