import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { createApp } from '../src/app'
import { PROVIDERS } from '../src/providers'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, callApp, createKey, expectProblem, expectProviderAnswer, fakeSync, resetState, sandboxStats, UPSTREAM } from './helpers'

beforeEach(resetState)

const ROUTES = {
  spotify: (id: string) => `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${id}`,
  sync: (id: string) => `/sync/v2/assets/${id}`,
  frameio: (id: string) => `/frameio/v2/assets/${id}`,
  gumnut: (id: string) => `/gumnut/api/assets/${id}`,
} as const

type Fault = keyof typeof GUMNUT_SAMPLE & keyof typeof SAMPLE
const id = (provider: keyof typeof ROUTES, fault: Fault) => (provider === 'gumnut' ? GUMNUT_SAMPLE[fault] : SAMPLE[fault])

/** What the provider answered itself: a mirror route replays it (status and body), tagged with the gateway's code. */
const PASSED = (Object.keys(ROUTES) as (keyof typeof ROUTES)[]).flatMap((provider) => [
  { provider, fault: 'unknown' as const, status: provider === 'spotify' ? 400 : 404, code: 'asset_not_found' },
  { provider, fault: 'fail500' as const, status: 500, code: 'upstream_error' },
  { provider, fault: 'fail401' as const, status: 401, code: 'upstream_auth_failed' },
  { provider, fault: 'fail403' as const, status: 403, code: 'upstream_auth_failed' },
  { provider, fault: 'fail400' as const, status: provider === 'gumnut' ? 422 : 400, code: 'upstream_rejected' },
  { provider, fault: 'fail429' as const, status: 429, code: 'upstream_rate_limited' },
  { provider, fault: 'fail502' as const, status: 502, code: 'upstream_error' },
  { provider, fault: 'fail503' as const, status: 503, code: 'upstream_unavailable' },
])

/** What the gateway concluded itself: problem+json. */
const CASES = (Object.keys(ROUTES) as (keyof typeof ROUTES)[]).flatMap((provider) => [
  { provider, fault: 'hang' as const, status: 504, code: 'upstream_timeout' },
  { provider, fault: 'malformed' as const, status: 502, code: 'upstream_invalid_response' },
  { provider, fault: 'refused' as const, status: 502, code: 'upstream_unreachable' },
  { provider, fault: 'truncated' as const, status: 502, code: 'upstream_body_incomplete' },
  { provider, fault: 'wrongType' as const, status: 502, code: 'upstream_invalid_response' },
  { provider, fault: 'oversized' as const, status: 502, code: 'upstream_body_too_large' },
])

describe('upstream errors', () => {
  it.each(PASSED)("$provider $fault → the provider's $status, tagged $code", async ({ provider, fault, status, code }) => {
    const response = await call(ROUTES[provider](id(provider, fault)))
    await expectProviderAnswer(response, status, code)
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(response.headers.get('x-should-retry')).toBe(code === 'upstream_auth_failed' ? 'false' : null)
  })

  it.each(CASES)('$provider $fault → $status $code', async ({ provider, fault, status, code }) => {
    const response = await call(ROUTES[provider](id(provider, fault)))
    const body = await expectProblem(response, status, code)
    if (!['hang', 'refused', 'truncated', 'oversized'].includes(fault)) expect(body.upstream_status).toBeTypeOf('number')
    expect(response.headers.get('x-request-id')).toBeTruthy()
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('retries once on 502, 503 without Retry-After, 504 and broken connections; never on 500, 429 or 503 with Retry-After', async () => {
    const expected = { fail502: 2, truncated: 2, fail500: 1, fail429: 1, fail503: 1, malformed: 1, hang: 1 } as const
    for (const [fault, calls] of Object.entries(expected)) {
      await resetState()
      await call(ROUTES.sync(SAMPLE[fault as keyof typeof expected]))
      expect(sandboxStats.calls('sync'), fault).toBe(calls)
    }
  })

  it('answers Retry-After from a 503 to the client instead of sleeping on it', async () => {
    const response = await call(ROUTES.gumnut(GUMNUT_SAMPLE.fail503))
    await expectProviderAnswer(response, 503, 'upstream_unavailable', '{"detail":"Service Unavailable"}')
    expect(response.headers.get('retry-after')).toBe('30')
  })

  it("keeps the provider's 401 when it refuses the gateway's credentials, but tells SDKs not to retry", async () => {
    const response = await call(ROUTES.sync(SAMPLE.fail401))
    await expectProviderAnswer(response, 401, 'upstream_auth_failed', '{"message":"Unauthorized","statusCode":401}')
    expect(response.headers.get('x-should-retry')).toBe('false')
    expect(response.headers.get('www-authenticate')).toBeNull()
  })

  it('passes Retry-After and rate-limit headers through on 429', async () => {
    const response = await call(ROUTES.frameio(SAMPLE.fail429))
    expect(response.headers.get('retry-after')).toBe('7')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('0')
  })

  it("keeps the provider's trace id in its body", async () => {
    const body = JSON.parse(await expectProviderAnswer(await call(ROUTES.spotify(SAMPLE.fail500)), 500, 'upstream_error')) as { sp_trace_id: string }
    expect(body.sp_trace_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('reads a Spotify 400 "not found" body as not found, and replays it from the cache', async () => {
    const first = await expectProviderAnswer(await call(ROUTES.spotify(SAMPLE.unknown)), 400, 'asset_not_found')
    const again = await call(ROUTES.spotify(SAMPLE.unknown))
    expect(again.headers.get('cache-status')).toMatch(/hit/)
    expect(await expectProviderAnswer(again, 400, 'asset_not_found')).toBe(first)
    expect(sandboxStats.calls('spotify')).toBe(1)
  })

  it("replays the provider's request-id and rate-limit headers, and no others", async () => {
    const upstream = fakeSync(() =>
      Response.json(
        { message: 'slow down', statusCode: 429 },
        {
          status: 429,
          headers: { 'retry-after': '3', 'x-ratelimit-remaining': '0', 'x-request-id': 'req-42', 'request-id': 'r-7', 'set-cookie': 'a=b', server: 'upstream' },
        },
      ),
    )
    const { response } = await callApp(ROUTES.sync(SAMPLE.video), { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher })
    await expectProviderAnswer(response, 429, 'upstream_rate_limited', '{"message":"slow down","statusCode":429}')
    expect(response.headers.get('retry-after')).toBe('3')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(response.headers.get('request-id')).toBe('r-7')
    expect(response.headers.get('x-upstream-request-id')).toBe('req-42')
    expect(response.headers.get('x-request-id')).not.toBe('req-42') // the gateway's own
    expect(response.headers.get('set-cookie')).toBeNull()
    expect(response.headers.get('server')).toBeNull()
  })

  it('answers its own 502 for an error body over 64 KiB, never a cut one', async () => {
    const upstream = fakeSync(() => new Response(`{"message":"${'x'.repeat(70 * 1024)}"}`, { status: 500, headers: { 'content-type': 'application/json' } }))
    const { response } = await callApp(ROUTES.sync(SAMPLE.video), { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream.fetcher })
    await expectProblem(response, 502, 'upstream_error')
  })

  it('answers 502 when the provider cannot be reached', async () => {
    // The production app: no sandbox in front of the provider, no development key.
    const { app } = createApp({ providers: PROVIDERS, fetch: () => Promise.reject(new TypeError('connect ECONNREFUSED')) })
    const key = await createKey({})
    const ctx = createExecutionContext()
    const response = await app.fetch(new Request(`https://gw.test${ROUTES.sync(SAMPLE.video)}`, { headers: { authorization: `Bearer ${key}` } }), env, ctx)
    await waitOnExecutionContext(ctx)
    const body = await expectProblem(response, 502, 'upstream_unreachable')
    expect(JSON.stringify(body)).not.toContain('ECONNREFUSED')
  })
})
