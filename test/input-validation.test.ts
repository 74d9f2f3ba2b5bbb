import { beforeEach, describe, expect, it } from 'vitest'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, expectProblem, resetState, sandboxStats } from './helpers'

beforeEach(resetState)

const BAD: { path: string; status: number; code: string }[] = [
  { path: `/spotify/ad_accounts/not-a-uuid/assets/${SAMPLE.image}`, status: 400, code: 'invalid_id' },
  { path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/1234`, status: 400, code: 'invalid_id' },
  { path: `/sync/v2/assets/${SAMPLE.video}x`, status: 400, code: 'invalid_id' },
  { path: '/sync/v2/assets/%2Fetc%2Fpasswd', status: 400, code: 'invalid_id' },
  { path: `/sync/v2/assets/${SAMPLE.video.slice(0, 35)}%2F`, status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/photo_123', status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/asset_', status: 400, code: 'invalid_id' },
  { path: `/gumnut/api/assets/asset_${'a'.repeat(65)}`, status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/asset_..%2F..%2Fadmin', status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/asset_a%2Fb', status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/asset_%2e%2e', status: 400, code: 'invalid_id' },
  { path: '/gumnut/api/assets/asset_%00', status: 400, code: 'invalid_id' },
  { path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=fa%00ces`, status: 400, code: 'invalid_query' },
  { path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=${'a'.repeat(65)}`, status: 400, code: 'invalid_query' },
  { path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=${Array.from({ length: 17 }, (_, i) => `v${i}`).join(',')}`, status: 400, code: 'invalid_query' },
  { path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}?expand=faces`, status: 400, code: 'unknown_query_parameter' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?include_deleted=yes`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?include_deleted=true&include_deleted=false`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?include_deleted=`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?type=`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?type=fi%0Ale`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?type=file,folder`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?type=${'f'.repeat(65)}`, status: 400, code: 'invalid_query' },
  { path: `/frameio/v2/assets/${SAMPLE.image}?include=children`, status: 400, code: 'unknown_query_parameter' },
  { path: `/sync/v2/assets/${SAMPLE.video}?debug=1`, status: 400, code: 'unknown_query_parameter' },
]

describe('input checks before any upstream call', () => {
  it.each(BAD)('$path → $status $code', async ({ path, status, code }) => {
    await expectProblem(await call(path), status, code)
    for (const provider of ['spotify', 'sync', 'gumnut', 'frameio', 'spotify-token']) expect(sandboxStats.calls(provider)).toBe(0)
  })

  it('treats dot segments as the URL standard does: they never reach a lookup', async () => {
    const response = await call('/gumnut/api/assets/%2e%2e/%2e%2e/healthz')
    expect(response.status).not.toBe(200)
    expect(response.status).toBeLessThan(500)
    expect(sandboxStats.calls('gumnut')).toBe(0)
  })

  it('answers unknown routes with a problem+json 404', async () => {
    await expectProblem(await call('/nope/v2/assets/x'), 404, 'not_found')
  })

  it('does not take a path with a trailing slash for the route without one', async () => {
    for (const path of ['/healthz/', '/openapi.json/', '/admin/cache/', '/links/', `/sync/v2/assets/${SAMPLE.video}/`]) {
      await expectProblem(await call(path), 404, 'not_found')
    }
    expect(sandboxStats.calls('sync')).toBe(0)
    expect((await call(`/sync/v2/assets/${SAMPLE.video}`)).status).toBe(200)
  })

  it('never echoes an oversized id in full', async () => {
    const long = `asset_${'x'.repeat(5000)}`
    const body = await expectProblem(await call(`/gumnut/api/assets/${long}`), 400, 'invalid_id')
    expect(String(body.detail).length).toBeLessThan(300)
  })
})
