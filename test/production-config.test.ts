import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { providerEventQueue } from '../src/events/provider-events'
import { callApp, expectProblem, resetState, sandboxStats } from './helpers'

const SYNC_ASSET = '/sync/v2/assets/22222222-2222-4222-8222-222222222222'

beforeEach(resetState)

describe('a provider without its credentials', () => {
  it('answers 503 provider_not_configured before any upstream call', async () => {
    const { response } = await callApp(SYNC_ASSET, { env: { SYNC_API_KEY: '' } })
    const body = await expectProblem(response, 503, 'provider_not_configured')
    expect(body.provider).toBe('sync')
    expect(sandboxStats.calls('sync')).toBe(0)
  })

  it('is not served from cache either, and other providers are unaffected', async () => {
    expect((await callApp(SYNC_ASSET)).response.status).toBe(200)
    await expectProblem((await callApp(SYNC_ASSET, { env: { SYNC_API_KEY: undefined } })).response, 503, 'provider_not_configured')
    const gumnut = await callApp('/gumnut/api/assets/asset_sandbox_image', { env: { SYNC_API_KEY: '' } })
    expect(gumnut.response.status).toBe(200)
  })

  it('counts as unconfigured when only some of its secrets are set', async () => {
    const { response } = await callApp('/spotify/ad_accounts/ce4ff15e-f04d-48b9-9ddf-fb3c85fbd57a/assets/11111111-1111-4111-8111-111111111111', {
      env: { SPOTIFY_REFRESH_TOKEN: '' },
    })
    await expectProblem(response, 503, 'provider_not_configured')
    expect(sandboxStats.calls('spotify') + sandboxStats.calls('spotify-token')).toBe(0)
  })
})

describe('/healthz', () => {
  it('lists configured providers, KV and link keys, and the version', async () => {
    const { response } = await callApp('/healthz', { env: { GUMNUT_API_KEY: '', FRAMEIO_TOKEN: undefined } })
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    expect(body).toMatchObject({
      status: 'ok',
      providers: { spotify: 'configured', sync: 'configured', gumnut: 'not_configured', frameio: 'not_configured' },
      kv: 'ok',
      links: 'ok',
    })
    expect(body.version).toMatchObject({ id: expect.any(String) })
  })

  it('says when the link keys are unusable or KV fails', async () => {
    const failingKv = new Proxy(env.ASSET_KV, {
      get: (target, prop) => (prop === 'get' ? () => Promise.reject(new Error('KV down')) : Reflect.get(target, prop)),
    })
    const { response } = await callApp('/healthz', { env: { LINK_SIGNING_KEYS: '', ASSET_KV: failingKv } })
    expect(await response.json()).toMatchObject({ kv: 'unavailable', links: 'not_configured' })
    const broken = await callApp('/healthz', { env: { LINK_SIGNING_KEY_ID: 'nope' } })
    expect(await broken.response.json()).toMatchObject({ links: 'not_configured' })
  })
})

describe('the queues wrangler.toml binds', () => {
  it('binds the events queue and the provider events queue, each a producer of its own', () => {
    expect(env.ASSET_EVENTS).toBeDefined()
    expect(env.PROVIDER_EVENTS).toBeDefined()
    expect(env.PROVIDER_EVENTS).not.toBe(env.ASSET_EVENTS)
    expect(providerEventQueue(env)).toBe(env.PROVIDER_EVENTS)
  })

  it('an older config without PROVIDER_EVENTS queues provider events on ASSET_EVENTS; with neither, none (applied in the request only)', () => {
    expect(providerEventQueue({ ...env, PROVIDER_EVENTS: undefined } as unknown as Env)).toBe(env.ASSET_EVENTS)
    expect(providerEventQueue({ ...env, PROVIDER_EVENTS: undefined, ASSET_EVENTS: undefined } as unknown as Env)).toBeUndefined()
  })
})
