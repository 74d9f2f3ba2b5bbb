import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { SAMPLE } from '../src/sandbox/samples'
import { callApp, expectProblem, expectProviderAnswer, freshIsolate, resetState, sandboxStats } from './helpers'

const PATH = `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.image}`
/** Every lookup here must reach the provider, so each asks the cache to revalidate. */
const REVALIDATE = { headers: { 'cache-control': 'no-cache' } }
const TOKEN_URL = 'https://accounts.spotify.test/api/token'

/** A token endpoint of the test's own: records each request's form and answers as told. */
function tokenEndpoint(answer: (form: URLSearchParams) => Response) {
  const forms: URLSearchParams[] = []
  const auth: string[] = []
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    if (request.url !== TOKEN_URL) throw new Error(`unexpected outbound call to ${request.url}`)
    const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())) // .text() of a form body makes workerd warn
    forms.push(form)
    auth.push(request.headers.get('authorization') ?? '')
    return answer(form)
  }
  return { fetcher, forms, auth }
}

const token = (extra: Record<string, unknown> = {}) =>
  Response.json({ access_token: `sandbox-access-${Math.floor(Date.now() / 1000) + 3600}-abcdef01`, token_type: 'Bearer', expires_in: 3600, ...extra })

beforeEach(resetState)

describe('Spotify OAuth', () => {
  it('mints once with Basic client auth and reuses the token', async () => {
    const endpoint = tokenEndpoint(() => token())
    for (let i = 0; i < 3; i++) {
      const { response } = await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
      expect(response.status).toBe(200)
    }
    expect(endpoint.forms).toHaveLength(1)
    expect(endpoint.forms[0]?.get('grant_type')).toBe('refresh_token')
    expect(endpoint.forms[0]?.get('refresh_token')).toBe(env.SPOTIFY_REFRESH_TOKEN)
    expect(endpoint.auth[0]).toBe(`Basic ${btoa(`${env.SPOTIFY_CLIENT_ID}:${env.SPOTIFY_CLIENT_SECRET}`)}`)
  })

  it('shares the token with other isolates through KV', async () => {
    const endpoint = tokenEndpoint(() => token())
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    freshIsolate() // a new isolate: nothing in memory, KV shared
    const { response } = await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    expect(response.status).toBe(200)
    expect(endpoint.forms).toHaveLength(1)
  })

  it('replaces a token within 60 s of its expiry', async () => {
    const endpoint = tokenEndpoint(() => token({ expires_in: 50 }))
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    expect(endpoint.forms).toHaveLength(2)
  })

  it('keeps a rotated refresh token and uses it next time', async () => {
    let n = 0
    const endpoint = tokenEndpoint(() => token({ expires_in: 30, refresh_token: `rotated-${++n}` }))
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    freshIsolate()
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    expect(endpoint.forms.map((f) => f.get('refresh_token'))).toEqual([env.SPOTIFY_REFRESH_TOKEN, 'rotated-1'])
  })

  it('ignores a rotated token that descends from a replaced SPOTIFY_REFRESH_TOKEN', async () => {
    const endpoint = tokenEndpoint(() => token({ expires_in: 30, refresh_token: 'rotated-old' }))
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    freshIsolate()
    await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL, SPOTIFY_REFRESH_TOKEN: 'freshly-authorized' }, fetch: endpoint.fetcher, init: REVALIDATE })
    expect(endpoint.forms.map((f) => f.get('refresh_token'))).toEqual([env.SPOTIFY_REFRESH_TOKEN, 'freshly-authorized'])
  })

  it('turns invalid_grant into 502 upstream_reauthorization_required, without retrying in a loop', async () => {
    const endpoint = tokenEndpoint(() => Response.json({ error: 'invalid_grant', error_description: 'Refresh token revoked' }, { status: 400 }))
    for (let i = 0; i < 3; i++) {
      const { response } = await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
      const body = await expectProblem(response, 502, 'upstream_reauthorization_required')
      expect(JSON.stringify(body)).not.toContain(env.SPOTIFY_REFRESH_TOKEN)
    }
    expect(endpoint.forms).toHaveLength(1)
  })

  it('answers 502 upstream_auth_failed when the token endpoint refuses the client', async () => {
    const endpoint = tokenEndpoint(() => Response.json({ error: 'invalid_client' }, { status: 401 }))
    const { response } = await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    await expectProblem(response, 502, 'upstream_auth_failed')
  })

  it('forgets a token the API refuses and tries once more with a freshly minted one', async () => {
    await env.ASSET_KV.put('spotify:access-token', JSON.stringify({ access_token: 'stale-token', expires_at: Date.now() + 3_600_000 }))
    const endpoint = tokenEndpoint(() => token())
    const first = await callApp(PATH, { env: { SPOTIFY_TOKEN_URL: TOKEN_URL }, fetch: endpoint.fetcher, init: REVALIDATE })
    expect(first.response.status).toBe(200)
    expect(endpoint.forms).toHaveLength(1)
    expect(await env.ASSET_KV.get('spotify:access-token')).not.toContain('stale-token')
    expect(sandboxStats.calls('spotify')).toBe(2)
  })

  it("answers Spotify's own 401, with x-should-retry: false, when a fresh token is refused too", async () => {
    const first = await callApp(`/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.fail401}`)
    await expectProviderAnswer(first.response, 401, 'upstream_auth_failed')
    expect(first.response.headers.get('x-should-retry')).toBe('false')
    expect(sandboxStats.calls('spotify')).toBe(2)
    expect(await env.ASSET_KV.get('spotify:access-token')).toBeNull()
  })

  it('uses the sandbox token endpoint in dev, end to end', async () => {
    const { response } = await callApp(PATH, { init: REVALIDATE })
    expect(response.status).toBe(200)
    expect(sandboxStats.tokensMinted()).toBe(1)
  })
})
