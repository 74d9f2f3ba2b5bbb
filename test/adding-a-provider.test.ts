import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app'
import { devKeyResolver } from '../src/dev'
import { createRedactor } from '../src/http/redact'
import { IsolateState } from '../src/isolate-state'
import { PROVIDERS } from '../src/providers'
import { providerRegistry } from '../src/providers/types'
import { acme, acmeUpstream } from './fixtures/acme-provider'
import { createKey, DEV_KEY, expectProblem, ORIGIN, resetState } from './helpers'

beforeEach(resetState)

/**
 * docs/adding-a-provider.md, checked: a fifth provider registered through the registry alone is
 * served by every generic part of the gateway (mirror route, cache tiers, links, purge, scopes,
 * config defaults, redaction) with no change anywhere else.
 */
const ACME_ENV = { ...env, ACME_TOKEN: 'acme-secret-token-0123', PUBLIC_ORIGIN: ORIGIN } as Env

function gatewayWithAcme() {
  const upstream = acmeUpstream()
  const registry = providerRegistry([...PROVIDERS.list, acme])
  const { app } = createApp({
    providers: registry,
    isolate: new IsolateState(),
    fetch: upstream.fetcher,
    resolveKey: devKeyResolver(),
    edgeNamespace: `acme-${crypto.randomUUID()}`,
  })
  const ask = async (path: string, init: RequestInit & { key?: string } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${init.key ?? DEV_KEY}`)
    const ctx = createExecutionContext()
    const response = await app.fetch(new Request(new URL(path, ORIGIN), { ...init, headers }), ACME_ENV, ctx)
    await waitOnExecutionContext(ctx)
    return response
  }
  return { ask, upstream, registry }
}

describe('a fifth provider, registered through the registry alone', () => {
  it('serves its mirror route through the cache tiers, with its credentials', async () => {
    const { ask, upstream } = gatewayWithAcme()
    const first = await ask('/acme/v1/media/m_1')
    expect(first.status).toBe(200)
    expect(((await first.json()) as { title: string }).title).toBe('Acme m_1')
    expect(first.headers.get('cache-status')).toBe('asset-edge; fwd=miss; stored')
    const second = await ask('/acme/v1/media/m_1')
    expect(second.headers.get('cache-status')).toMatch(/hit; detail=memory/)
    expect(upstream.state.calls).toBe(1)
    expect(upstream.state.authorizations).toEqual(['Bearer acme-secret-token-0123'])
  })

  it('checks its input before any call, and caches its "no such asset"', async () => {
    const { ask, upstream } = gatewayWithAcme()
    await expectProblem(await ask('/acme/v1/media/not-an-id'), 400, 'invalid_id')
    await expectProblem(await ask('/acme/v1/media/m_1?x=1'), 400, 'unknown_query_parameter')
    expect(upstream.state.calls).toBe(0)
    // The provider's own "no such asset", as it sent it (SDKs parse it), then replayed from the cache.
    for (let i = 0; i < 2; i++) {
      const missing = await ask('/acme/v1/media/m_404')
      expect(missing.status).toBe(404)
      expect(missing.headers.get('x-asset-edge-error')).toBe('asset_not_found')
      expect(await missing.json()).toEqual({ error: 'not_found' })
    }
    expect(upstream.state.calls).toBe(1)
  })

  it('mints and follows signed links to its media, on its default media hosts', async () => {
    const { ask } = gatewayWithAcme()
    const minted = await ask('/links', { method: 'POST', body: JSON.stringify({ provider: 'acme', asset_id: 'm_2', variant: 'thumbnail' }) })
    expect(minted.status).toBe(201)
    const { url } = (await minted.json()) as { url: string }
    const followed = await ask(new URL(url).pathname)
    expect(followed.status).toBe(302)
    expect(followed.headers.get('location')).toMatch(/^https:\/\/cdn\.acme\.test\/m_2\.jpg\?Expires=/)
    const unknownVariant = await ask('/links', { method: 'POST', body: JSON.stringify({ provider: 'acme', asset_id: 'm_2', variant: 'poster' }) })
    expect((await expectProblem(unknownVariant, 422, 'unknown_variant')).allowed).toEqual(['original', 'thumbnail'])
  })

  it('is purged, scoped and redacted like the others', async () => {
    const { ask, upstream, registry } = gatewayWithAcme()
    await ask('/acme/v1/media/m_1')
    const purge = await ask('/purge', { method: 'POST', body: JSON.stringify({ provider: 'acme', assets: [{ asset_id: 'm_1' }] }) })
    expect(purge.status).toBe(200)
    await ask('/acme/v1/media/m_1')
    expect(upstream.state.calls).toBe(2) // purged, so fetched again

    const acmeOnly = await createKey({ providers: ['acme'] })
    expect((await ask('/acme/v1/media/m_1', { key: acmeOnly })).status).toBe(200)
    await expectProblem(await ask('/sync/v2/assets/22222222-2222-4222-8222-222222222222', { key: acmeOnly }), 403, 'forbidden_scope')

    expect(createRedactor(registry).secrets(ACME_ENV)).toContain('acme-secret-token-0123')
  })
})
