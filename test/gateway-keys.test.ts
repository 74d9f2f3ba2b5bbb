import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { digestKey, KEY_PREFIX } from '../src/http/auth'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, createKey, expectProblem, resetState, sandboxStats } from './helpers'

beforeEach(resetState)

const SYNC_PATH = `/sync/v2/assets/${SAMPLE.video}`

describe('gateway keys', () => {
  it('refuses a request without a key with 401 and a challenge, before any upstream call', async () => {
    const response = await call(SYNC_PATH, { key: null })
    await expectProblem(response, 401, 'missing_api_key')
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="asset-edge"/)
    expect(sandboxStats.calls('sync')).toBe(0)
  })

  it('refuses a wrong key with 401 invalid_token', async () => {
    const response = await call(SYNC_PATH, { key: 'ae_not_a_real_key' })
    await expectProblem(response, 401, 'invalid_api_key')
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"')
    expect(sandboxStats.calls('sync')).toBe(0)
  })

  it('refuses a malformed Authorization header', async () => {
    await expectProblem(await call(SYNC_PATH, { key: null, headers: { authorization: 'Basic Zm9vOmJhcg==' } }), 401, 'missing_api_key')
  })

  it('accepts a stored key as Bearer and as x-api-key', async () => {
    const key = await createKey({ providers: ['sync'] })
    expect((await call(SYNC_PATH, { key })).status).toBe(200)
    expect((await call(SYNC_PATH, { key: null, headers: { 'x-api-key': key } })).status).toBe(200)
  })

  it('stores keys only as SHA-256 digests', async () => {
    const key = await createKey({ providers: ['sync'] })
    const listed = await env.ASSET_KV.list({ prefix: KEY_PREFIX })
    const names = listed.keys.map((k) => k.name)
    expect(names).toContain(KEY_PREFIX + (await digestKey(key)))
    expect(names.join()).not.toContain(key)
  })

  it('answers 403 for a key without the provider scope, before any upstream call', async () => {
    const key = await createKey({ providers: ['gumnut'] })
    expect((await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}`, { key })).status).toBe(200)
    await expectProblem(await call(SYNC_PATH, { key }), 403, 'forbidden_scope')
    expect(sandboxStats.calls('sync')).toBe(0)
  })

  it('checks the key before the input, so a stranger learns nothing about ids', async () => {
    await expectProblem(await call('/sync/v2/assets/not-a-uuid', { key: null }), 401, 'missing_api_key')
  })

  it('leaves /healthz, /openapi.json and /docs open', async () => {
    for (const path of ['/healthz', '/openapi.json', '/docs']) {
      expect((await call(path, { key: null })).status, path).toBe(200)
    }
  })
})
