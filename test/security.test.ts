/**
 * The findings of the security review (issue 15), one describe each: every test here failed before
 * its fix. Finding 1 (cache-key multiplication) is issue 14's; finding 10 (log redaction) is in
 * test/logging.test.ts.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { digestKey, KEY_PREFIX } from '../src/http/auth'
import { parseKeyRing } from '../src/links/key-ring'
import { type LinkClaims, signLinkToken } from '../src/links/link-token'
import { PROVIDERS } from '../src/providers'
import { sandboxSecrets } from '../src/providers/frameio/meta'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { createWorker } from '../src/worker'
import {
  call,
  callApp,
  createKey,
  currentIsolate,
  currentSandbox,
  DEV_KEY,
  expectProblem,
  fakeSync,
  freshIsolate,
  ORIGIN,
  resetState,
  sandboxStats,
  syncRecord,
  UPSTREAM,
} from './helpers'

beforeEach(resetState)

const nowS = () => Math.floor(Date.now() / 1000)
const json = { 'content-type': 'application/json' }
type Minted = { url: string; expires_at: string }

async function mint(body: Record<string, unknown>, key: string = DEV_KEY): Promise<string> {
  const response = await call('/links', { method: 'POST', key, headers: json, body: JSON.stringify(body) })
  expect(response.status, await response.clone().text()).toBe(201)
  return ((await response.json()) as Minted).url
}

const follow = (url: string) => call(new URL(url).pathname, { key: null, redirect: 'manual' })
const maxAgeOf = (response: Response) => Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1])

/** A body of `total` bytes streamed in 16 KiB chunks with no Content-Length; `pulled` counts what the gateway read. */
function streamed(total: number) {
  const chunk = new Uint8Array(16 * 1024).fill(0x20)
  const state = { pulled: 0 }
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= total) return controller.close()
      state.pulled += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  return { body, state }
}

describe('2. bodies are read only up to their limit, unsigned webhooks not at all', () => {
  const TOTAL = 4 * 1024 * 1024

  it('an unsigned chunked webhook body far over the limit is refused 401 without being read', async () => {
    const { body, state } = streamed(TOTAL)
    const response = await call('/webhooks/frameio', { method: 'POST', key: null, body })
    expect(response.headers.get('content-length')).toBeNull()
    await expectProblem(response, 401, 'webhook_unsigned')
    expect(state.pulled).toBeLessThanOrEqual(64 * 1024) // at most what the stream buffered ahead, never the 4 MiB
  })

  it('a signed-looking chunked webhook body over the limit is cut off at the limit: 413', async () => {
    const { body, state } = streamed(TOTAL)
    const headers = await signFrameioWebhook('test-frameio-webhook-secret', '{}', nowS())
    await expectProblem(await call('/webhooks/frameio', { method: 'POST', key: null, headers, body }), 413, 'webhook_too_large')
    expect(state.pulled).toBeLessThan(256 * 1024) // the limit is 64 KiB
  })

  it.each([
    ['/links', 8 * 1024],
    ['/purge', 64 * 1024],
  ])('%s: a chunked body over its limit (%i bytes) is cut off: 413', async (path, limit) => {
    const { body, state } = streamed(TOTAL)
    await expectProblem(await call(path, { method: 'POST', headers: json, body }), 413, 'body_too_large')
    expect(state.pulled).toBeLessThan(limit + 128 * 1024)
  })
})

describe('3. /purge needs the provider scope and answers counts', () => {
  it('a Gumnut admin cannot purge Frame.io, and learns no cache key', async () => {
    await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=faces`)
    const admin = await createKey({ providers: ['gumnut'], admin: true })
    const purge = (body: unknown) => call('/purge', { method: 'POST', key: admin, headers: json, body: JSON.stringify(body) })
    await expectProblem(await purge({ provider: 'frameio', assets: [{ asset_id: SAMPLE.image }] }), 403, 'forbidden_scope')
    const answer = (await (await purge({ provider: 'gumnut', assets: [{ asset_id: GUMNUT_SAMPLE.image }] })).json()) as Record<string, unknown>
    expect(answer.keys_removed).toBe(2) // the asset's own key and its one cached variant
    expect(JSON.stringify(answer)).not.toContain('include')
  })
})

describe('4. sandbox control routes need the development key; the sandbox signs with its own secret', () => {
  const control = (path: string, body: unknown, key: string | null) => call(path, { method: 'POST', key, headers: json, body: JSON.stringify(body) })

  it.each([
    ['/__sandbox/frameio/_webhooks', { type: 'asset.updated', id: SAMPLE.image }],
    ['/__sandbox/gumnut/_events', { event_type: 'asset_updated', id: GUMNUT_SAMPLE.image }],
  ])('%s: 401 without the development key or with another key, and changes nothing', async (path, body) => {
    expect((await control(path, body, null)).status).toBe(401)
    expect((await control(path, body, await createKey({ admin: true, links: true }))).status).toBe(401)
    expect(currentSandbox().state.of(path.includes('frameio') ? 'frameio' : 'gumnut', body.id).version).toBe(1)
    expect([200, 201]).toContain((await control(path, body, DEV_KEY)).status)
  })

  it('the cron runs on demand only for the development key (POST /__sandbox/_scheduled)', async () => {
    expect((await control('/__sandbox/_scheduled', {}, null)).status).toBe(401)
    expect((await control('/__sandbox/_scheduled', {}, await createKey({ admin: true }))).status).toBe(401)
    expect(sandboxStats.calls('gumnut-events')).toBe(0)
    expect((await control('/__sandbox/_scheduled', {}, DEV_KEY)).status).toBe(200)
    expect(sandboxStats.calls('gumnut-events')).toBeGreaterThan(0) // it read the Gumnut feed
  })

  it('signs with the sandbox secret, never the configured one: the gateway with a real secret refuses it', async () => {
    const response = await control('/__sandbox/frameio/_webhooks', { type: 'asset.updated', id: SAMPLE.image }, DEV_KEY)
    const { body, headers } = (await response.json()) as { body: string; headers: Record<string, string> }
    const timestamp = Number(headers['x-frameio-request-timestamp'])
    expect(headers).toEqual(await signFrameioWebhook(sandboxSecrets.FRAMEIO_WEBHOOK_SECRET ?? '', body, timestamp))
    expect(headers).not.toEqual(await signFrameioWebhook(env.FRAMEIO_WEBHOOK_SECRET ?? '', body, timestamp))
    const delivered = await callApp('/webhooks/frameio', { init: { method: 'POST', body, headers } })
    await expectProblem(delivered.response, 401, 'webhook_bad_signature')
  })
})

describe('5. a link whose expiry lies beyond the longest lifetime is refused, however well signed', () => {
  const claims = async (exp: number): Promise<LinkClaims> => ({
    provider: 'sync',
    ids: { id: SAMPLE.video },
    query: {},
    variant: 'original',
    exp,
    keyDigest: await digestKey(DEV_KEY),
  })
  const sign = async (exp: number) => {
    const ring = await parseKeyRing(env.LINK_SIGNING_KEYS, 'k2')
    return signLinkToken(await claims(exp), 'k2', ring.current)
  }

  it('a year-long link signed with the real key: 403, the answer any forgery gets', async () => {
    await expectProblem(await call(`/r/${await sign(nowS() + 365 * 86_400)}`, { key: null }), 403, 'invalid_link_signature')
    // LINK_MAX_TTL_S (3600) + LINK_CLOCK_SKEW_S (30): just past it is refused, the longest mintable link is not.
    await expectProblem(await call(`/r/${await sign(nowS() + 3600 + 30 + 5)}`, { key: null }), 403, 'invalid_link_signature')
    expect((await call(`/r/${await sign(nowS() + 3600)}`, { key: null, redirect: 'manual' })).status).toBe(302)
  })
})

describe('6. a link works only while the key that minted it does', () => {
  const body = { provider: 'sync', id: SAMPLE.video, variant: 'original' }

  it('revoked (deleted from KV): its links answer 410 link_revoked once the key cache lets go', async () => {
    const key = await createKey({ providers: ['sync'], links: true })
    const url = await mint(body, key)
    expect((await follow(url)).status).toBe(302)
    await env.ASSET_KV.delete(KEY_PREFIX + (await digestKey(key)))
    expect((await follow(url)).status).toBe(302) // this isolate trusts what it saw for KEY_CACHE_TTL_S
    freshIsolate()
    const gone = await follow(url)
    await expectProblem(gone, 410, 'link_revoked')
    expect(gone.headers.get('location')).toBeNull()
  })

  it('a key that lost the links capability or the provider scope: 410 link_revoked', async () => {
    const key = await createKey({ providers: ['sync'], links: true })
    const url = await mint(body, key)
    const stored = KEY_PREFIX + (await digestKey(key))
    const record = (await env.ASSET_KV.get<{ scopes: object }>(stored, 'json'))!
    for (const scopes of [
      { providers: ['sync'], links: false, admin: false },
      { providers: ['gumnut'], links: true, admin: false },
    ]) {
      await env.ASSET_KV.put(stored, JSON.stringify({ ...record, scopes }))
      freshIsolate()
      await expectProblem(await follow(url), 410, 'link_revoked')
    }
  })

  it('the minting key digest a link carries is no credential', async () => {
    const key = await createKey({ providers: ['*'], links: true, admin: true })
    await follow(await mint(body, key)) // /r/ has looked the digest up in this isolate
    await expectProblem(await call(`/sync/v2/assets/${SAMPLE.video}`, { key: await digestKey(key) }), 401, 'invalid_api_key')
  })

  it('links minted with the development key keep working (it is resolved by digest too)', async () => {
    expect((await follow(await mint(body))).status).toBe(302)
    expect(currentIsolate().keysByDigest.get(await digestKey(DEV_KEY))?.record?.id).toBe('dev')
  })
})

describe("7. the redirect's max-age never outlives a media URL whose expiry is hidden", () => {
  afterEach(() => vi.useRealTimers())

  it("Gumnut (verify=): capped by the assumed media lifetime, counted from the record's fetch", async () => {
    const url = await mint({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'thumbnail', ttl_s: 3600 })
    const first = await follow(url)
    expect(first.headers.get('location')).toMatch(/verify=/)
    // MEDIA_ASSUMED_LIFETIME_S_GUMNUT 900 (its default), less MEDIA_URL_MIN_VALIDITY_S 60.
    expect(maxAgeOf(first)).toBeGreaterThan(800)
    expect(maxAgeOf(first)).toBeLessThanOrEqual(840)

    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 600_000) // ten minutes on, the same record (stale, being revalidated) is served
    const later = await follow(url)
    expect(later.status).toBe(302)
    expect(maxAgeOf(later)).toBeLessThanOrEqual(240)
  })
})

describe("9. a link redirects only to its provider's media hosts unless configured otherwise", () => {
  const followWith = async (fetcher: typeof fetch, vars: Record<string, string>) => {
    const minted = await callApp('/links', {
      env: vars as Partial<Env>,
      fetch: fetcher,
      init: { method: 'POST', headers: json, body: JSON.stringify({ provider: 'sync', id: SAMPLE.video, variant: 'original' }) },
    })
    const { url } = (await minted.response.json()) as Minted
    return (await callApp(new URL(url).pathname, { env: vars as Partial<Env>, fetch: fetcher, init: { redirect: 'manual' } })).response
  }

  it('a record naming a foreign host is refused by default, followed once the host is allowed', async () => {
    const { fetcher } = fakeSync(() => syncRecord(SAMPLE.video, 'v.mp4')) // media on https://media.test
    await expectProblem(await followWith(fetcher, { SYNC_BASE_URL: UPSTREAM }), 502, 'media_url_refused')
    const allowed = await followWith(fetcher, { SYNC_BASE_URL: UPSTREAM, LINK_ALLOWED_HOSTS_SYNC: 'media.test' })
    expect(allowed.status).toBe(302)
    expect(allowed.headers.get('location')).toMatch(/^https:\/\/media\.test\//)
  })

  it('an S3 URL, within the default hosts, is followed', async () => {
    const { fetcher } = fakeSync(async () => {
      const record = (await syncRecord(SAMPLE.video, 'v.mp4').json()) as { url: string }
      return Response.json({ ...record, url: record.url.replace('https://media.test', 'https://bucket.s3.us-east-1.amazonaws.com') })
    })
    expect((await followWith(fetcher, { SYNC_BASE_URL: UPSTREAM })).status).toBe(302)
  })
})

describe('8. secure headers on every answer', () => {
  it.each([
    ['a lookup', `/sync/v2/assets/${SAMPLE.video}`],
    ['a problem', '/no/such/route'],
    ['the docs page', '/docs'],
    ['health', '/healthz'],
  ])('%s: nosniff, no framing, no referrer', async (_name, path) => {
    const response = await call(path)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('x-frame-options')).toBe('DENY')
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('cross-origin-resource-policy')).toBe('same-origin')
  })

  it('a link redirect too, embeddable by other origins', async () => {
    const response = await follow(await mint({ provider: 'sync', id: SAMPLE.video, variant: 'original' }))
    expect(response.status).toBe(302)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin')
  })
})

describe('11. minted links name the configured public origin', () => {
  const body = JSON.stringify({ provider: 'sync', id: SAMPLE.video, variant: 'original' })

  it('PUBLIC_ORIGIN wins over the Host a request names', async () => {
    const { response } = await callApp('/links', {
      env: { PUBLIC_ORIGIN: 'https://links.example.com/ignored/path' },
      init: { method: 'POST', headers: { ...json, host: 'evil.example' }, body },
    })
    expect(((await response.json()) as Minted).url).toMatch(/^https:\/\/links\.example\.com\/r\/v2\./)
  })

  it('the dev entry falls back to the request origin', async () => {
    const url = await mint({ provider: 'sync', id: SAMPLE.video, variant: 'original' })
    expect(url.startsWith(`${ORIGIN}/r/`)).toBe(true)
  })

  it('production without PUBLIC_ORIGIN: 500 links_not_configured, never a Host-chosen origin', async () => {
    const { handler } = createWorker({ providers: PROVIDERS, isolate: currentIsolate(), edgeNamespace: `test-${crypto.randomUUID()}` })
    const key = await createKey({ links: true })
    const send = async (vars: Partial<Env>) => {
      const ctx = createExecutionContext()
      const request = new Request('https://evil.example/links', { method: 'POST', headers: { ...json, authorization: `Bearer ${key}` }, body })
      const response = await handler.fetch(request, { ...env, ...vars } as Env, ctx)
      await waitOnExecutionContext(ctx)
      return response
    }
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      await expectProblem(await send({ PUBLIC_ORIGIN: '' }), 500, 'links_not_configured')
      await expectProblem(await send({ PUBLIC_ORIGIN: 'not a url' }), 500, 'links_not_configured')
      expect(String(log.mock.calls[0]?.[0])).toContain('PUBLIC_ORIGIN')
    } finally {
      log.mockRestore()
    }
    const minted = await send({ PUBLIC_ORIGIN: 'https://assets.example.com' })
    expect(minted.status).toBe(201)
    expect(((await minted.json()) as Minted).url).toMatch(/^https:\/\/assets\.example\.com\/r\//)
  })
})

describe('12. sandbox routes answer a body that is not JSON with 400', () => {
  it.each(['/__sandbox/frameio/_webhooks', '/__sandbox/gumnut/_events'])('%s', async (path) => {
    const response = await call(path, { method: 'POST', headers: json, body: '{"type":' })
    expect(response.status).toBe(400)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
  })
})

describe('13. credentials and link codes', () => {
  it('Authorization: Basic beside a valid x-api-key authenticates with the x-api-key', async () => {
    const response = await call(`/sync/v2/assets/${SAMPLE.video}`, { key: null, headers: { authorization: 'Basic Zm9vOmJhcg==', 'x-api-key': DEV_KEY } })
    expect(response.status).toBe(200)
  })

  it('an unknown signing key id and a bad signature answer the same', async () => {
    const ring = await parseKeyRing(env.LINK_SIGNING_KEYS, 'k2')
    const claims: LinkClaims = { provider: 'sync', ids: { id: SAMPLE.video }, query: {}, variant: 'original', exp: nowS() + 60, keyDigest: 'ab'.repeat(32) }
    const genuine = await signLinkToken(claims, 'k2', ring.current)
    const unknownKid = await (await call(`/r/${genuine.replace('.k2.', '.k9.')}`, { key: null })).json()
    const badSignature = await (await call(`/r/${genuine.slice(0, -2)}AA`, { key: null })).json()
    expect(unknownKid).toEqual(badSignature)
    expect(unknownKid).toMatchObject({ status: 403, code: 'invalid_link_signature' })
  })
})
