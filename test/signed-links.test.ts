import { env } from 'cloudflare:workers'
import { Validator } from '@cfworker/json-schema'
import { beforeEach, describe, expect, it } from 'vitest'
import { mediaUrlExpiry } from '../src/cache/media-expiry'
import { encodeBase64url } from '../src/encoding'
import spec from '../src/generated/asset-edge.openapi.json'
import { digestKey } from '../src/http/auth'
import { parseKeyRing } from '../src/links/key-ring'
import { canonicalPayload, type LinkClaims, signLinkToken } from '../src/links/link-token'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { adapterOf, call, createKey, DEV_KEY, expectProblem, ORIGIN, resetState } from './helpers'

beforeEach(resetState)

type MintBody = Record<string, unknown>
type Minted = { url: string; expires_at: string; variant: string }

function mint(body: MintBody, key?: string | null): Promise<Response> {
  return call('/links', { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

async function mintUrl(body: MintBody): Promise<string> {
  const response = await mint(body)
  expect(response.status, await response.clone().text()).toBe(201)
  return ((await response.json()) as Minted).url
}

/** Follows a link as a browser would, without a key; `token` is percent-encoded into the path. */
function follow(tokenOrUrl: string, method = 'GET'): Promise<Response> {
  const token = tokenOrUrl.startsWith(ORIGIN) ? tokenOrUrl.slice(`${ORIGIN}/r/`.length) : tokenOrUrl
  return call(`/r/${encodeURIComponent(token)}`, { method, key: null, redirect: 'manual' })
}

const tokenOf = (url: string) => url.slice(`${ORIGIN}/r/`.length)

/** The test bindings' signing keys (vitest.config.ts): k2 is current, k1 older but listed. */
const ring = (current: 'k1' | 'k2') => parseKeyRing(env.LINK_SIGNING_KEYS, current)

/** Signs claims as the gateway would for a link minted with the development key. */
async function signAs(kid: 'k1' | 'k2', claims: Omit<LinkClaims, 'keyDigest'>): Promise<string> {
  const keys = await ring(kid)
  return signLinkToken({ ...claims, keyDigest: await digestKey(DEV_KEY) }, kid, keys.current)
}

const nowS = () => Math.floor(Date.now() / 1000)

/** The record a lookup route answers for the same lookup a link makes. */
async function record(path: string): Promise<unknown> {
  const response = await call(path)
  expect(response.status).toBe(200)
  return response.json()
}

/** One link per provider, and the lookup route path of the same lookup. */
const EVERY_PROVIDER = [
  {
    body: { provider: 'spotify', ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.video, variant: 'original' },
    path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.video}`,
  },
  {
    body: { provider: 'spotify', ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.video, variant: 'thumbnail' },
    path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.video}`,
  },
  { body: { provider: 'sync', id: SAMPLE.video, variant: 'original' }, path: `/sync/v2/assets/${SAMPLE.video}` },
  { body: { provider: 'sync', id: SAMPLE.video, variant: 'thumbnail' }, path: `/sync/v2/assets/${SAMPLE.video}` },
  { body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'thumbnail' }, path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}` },
  { body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'original' }, path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=variants` },
  {
    body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.video, variant: 'thumbnail', include: ['faces'] },
    path: `/gumnut/api/assets/${GUMNUT_SAMPLE.video}?include=faces`,
  },
  { body: { provider: 'frameio', asset_id: SAMPLE.image, variant: 'original' }, path: `/frameio/v2/assets/${SAMPLE.image}` },
  { body: { provider: 'frameio', asset_id: SAMPLE.video, variant: 'preview', type: 'file' }, path: `/frameio/v2/assets/${SAMPLE.video}?type=file` },
] as const

describe('minting', () => {
  it('answers 201 with an absolute link on the request origin, its expiry and variant', async () => {
    const before = nowS()
    const response = await mint({ provider: 'sync', id: SAMPLE.video, variant: 'original' })
    expect(response.status).toBe(201)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as Minted
    expect(body.url).toMatch(new RegExp(`^${ORIGIN}/r/v2\\.k2\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43}$`))
    expect(body.variant).toBe('original')
    const expiresS = Date.parse(body.expires_at) / 1000
    expect(expiresS - before).toBeGreaterThanOrEqual(300) // LINK_DEFAULT_TTL_S
    expect(expiresS - before).toBeLessThanOrEqual(301)
  })

  it('takes ttl_s up to LINK_MAX_TTL_S and refuses more, less, or a non-integer', async () => {
    const body = { provider: 'frameio', asset_id: SAMPLE.image, variant: 'original' }
    const minted = (await (await mint({ ...body, ttl_s: 3600 })).json()) as Minted
    expect(Date.parse(minted.expires_at) / 1000 - nowS()).toBeGreaterThan(3590)
    for (const ttl_s of [3601, 0, -5, 1.5, '300']) {
      const problem = await expectProblem(await mint({ ...body, ttl_s }), 422, 'invalid_ttl')
      expect(problem.max_ttl_s).toBe(3600)
    }
  })

  it('refuses an unknown variant with 422 listing the valid ones', async () => {
    const problem = await expectProblem(await mint({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'huge' }), 422, 'unknown_variant')
    expect(problem.allowed).toEqual(Object.keys(adapterOf('gumnut').variants))
    const inherited = await expectProblem(await mint({ provider: 'sync', id: SAMPLE.video, variant: 'toString' }), 422, 'unknown_variant')
    expect(inherited.allowed).toEqual(['original', 'thumbnail'])
  })

  it('validates ids and query with the provider route checks', async () => {
    await expectProblem(await mint({ provider: 'sync', id: 'not-a-uuid', variant: 'original' }), 400, 'invalid_id')
    await expectProblem(await mint({ provider: 'spotify', asset_id: SAMPLE.video, variant: 'original' }), 400, 'invalid_id')
    await expectProblem(await mint({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, include: 'faces,nope', variant: 'thumbnail' }), 422, 'invalid_include')
    await expectProblem(await mint({ provider: 'frameio', asset_id: SAMPLE.image, include_deleted: 'maybe', variant: 'original' }), 400, 'invalid_query')
    const unknown = await expectProblem(await mint({ provider: 'sync', id: SAMPLE.video, variant: 'original', ttl: 5 }), 400, 'unknown_field')
    expect(unknown.allowed).toEqual(['provider', 'variant', 'ttl_s', 'id'])
    const provider = await expectProblem(await mint({ provider: 'vimeo', id: SAMPLE.video, variant: 'original' }), 422, 'unknown_provider')
    expect(provider.allowed).toEqual(['spotify', 'sync', 'gumnut', 'frameio'])
    await expectProblem(await call('/links', { method: 'POST', body: '{"provider":' }), 400, 'invalid_body')
    await expectProblem(await call('/links', { method: 'POST', body: '[]' }), 400, 'invalid_body')
    await expectProblem(await call('/links', { method: 'POST', body: 'x'.repeat(9000) }), 413, 'body_too_large')
  })

  it('needs a key with the links scope and the provider scope', async () => {
    const body = { provider: 'sync', id: SAMPLE.video, variant: 'original' }
    await expectProblem(await mint(body, null), 401, 'missing_api_key')
    await expectProblem(await mint(body, 'ae_not_a_key'), 401, 'invalid_api_key')
    await expectProblem(await mint(body, await createKey({ providers: ['*'], links: false })), 403, 'forbidden_scope')
    await expectProblem(await mint(body, await createKey({ providers: ['gumnut'], links: true })), 403, 'forbidden_scope')
    expect((await mint(body, await createKey({ providers: ['sync'], links: true }))).status).toBe(201)
  })

  it('adds include=variants for a Gumnut variant beyond the thumbnail, as a canonical lookup', async () => {
    const payload = (url: string) => JSON.parse(atob(tokenOf(url).split('.')[2]!.replace(/-/g, '+').replace(/_/g, '/'))) as unknown[]
    const preview = await mintUrl({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'preview', include: ['variants', 'faces', 'faces'] })
    const minter = await digestKey(DEV_KEY)
    expect(payload(preview)).toEqual(['gumnut', { asset_id: GUMNUT_SAMPLE.image }, { include: 'faces,variants' }, 'preview', expect.any(Number), minter])
    const thumbnail = await mintUrl({ provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'thumbnail' })
    expect(payload(thumbnail)).toEqual(['gumnut', { asset_id: GUMNUT_SAMPLE.image }, {}, 'thumbnail', expect.any(Number), minter])
  })
})

describe('following', () => {
  it.each(EVERY_PROVIDER)('$body.provider $body.variant: 302 to the record URL, no key needed', async ({ body, path }) => {
    const url = await mintUrl(body)
    const asset = await record(path) // the lookup the link makes, cached now
    const response = await follow(url)
    expect(response.status).toBe(302)
    const location = response.headers.get('location')
    const adapter = adapterOf(body.provider)
    expect(location).toBe(adapter.media(asset, body.variant))
    expect(adapter.facts(asset).mediaUrls).toContain(location)
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
    expect(response.headers.get('x-robots-tag')).toBe('noindex')
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers.get('cache-control') ?? '')?.[1])
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(300) // the token's remaining life
    const mediaExpiry = mediaUrlExpiry(location!)
    // (+1: the gateway counted a moment before this test, maybe on the other side of a second boundary)
    if (mediaExpiry !== undefined) expect(maxAge).toBeLessThanOrEqual((mediaExpiry - Date.now()) / 1000 + 1)
  })

  it('answers HEAD like GET, without a body', async () => {
    const url = await mintUrl({ provider: 'sync', id: SAMPLE.video, variant: 'thumbnail' })
    const response = await follow(url, 'HEAD')
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toMatch(/\/__sandbox\/media\/thumb\.jpg\?/)
    expect(await response.text()).toBe('')
  })

  it('keeps max-age within a media URL that dies before the token', async () => {
    const url = await mintUrl({ provider: 'sync', id: SAMPLE.video, variant: 'original', ttl_s: 3600 })
    const response = await follow(url)
    const location = response.headers.get('location')!
    const mediaLeftS = (mediaUrlExpiry(location)! - Date.now()) / 1000
    expect(mediaLeftS).toBeLessThan(3600) // S3 URL signed for an hour, the token for an hour from later
    // The gateway counted the seconds left a moment before this test did, on a clock that workerd
    // advances only at I/O, on a shared machine: allow a few seconds between the two readings.
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers.get('cache-control') ?? '')?.[1])
    expect(maxAge).toBeGreaterThanOrEqual(Math.floor(mediaLeftS) - 3)
    expect(maxAge).toBeLessThanOrEqual(Math.floor(mediaLeftS) + 3)
  })

  it.each([
    { name: 'unknown asset', body: { provider: 'sync', id: SAMPLE.unknown, variant: 'original' }, code: 'asset_not_found' },
    { name: 'unknown Gumnut asset', body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.unknown, variant: 'thumbnail' }, code: 'asset_not_found' },
    { name: 'trashed asset', body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.deleted, variant: 'thumbnail' }, code: 'asset_not_found' },
    { name: 'deleted asset', body: { provider: 'frameio', asset_id: SAMPLE.deleted, include_deleted: true, variant: 'original' }, code: 'asset_not_found' },
    {
      name: 'processing asset',
      body: { provider: 'spotify', ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.processing, variant: 'original' },
      code: 'asset_not_ready',
    },
    { name: 'asset without its URL yet', body: { provider: 'sync', id: SAMPLE.processing, variant: 'original' }, code: 'asset_not_ready' },
    { name: 'Gumnut asset before derivation', body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.processing, variant: 'thumbnail' }, code: 'asset_not_ready' },
    { name: 'image without a thumbnail', body: { provider: 'sync', id: SAMPLE.image, variant: 'thumbnail' }, code: 'variant_not_available' },
    { name: 'video without a preview rung', body: { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.video, variant: 'preview' }, code: 'variant_not_available' },
  ])('$name: 404 $code', async ({ body, code }) => {
    const response = await follow(await mintUrl(body))
    await expectProblem(response, 404, code)
    expect(response.headers.get('location')).toBeNull()
    expect(response.headers.get('referrer-policy')).toBe('no-referrer')
  })

  it('passes upstream failures on as the lookup route does', async () => {
    await expectProblem(await follow(await mintUrl({ provider: 'sync', id: SAMPLE.fail500, variant: 'original' })), 502, 'upstream_error')
  })

  it('answers 400 to a malformed token', async () => {
    for (const token of [
      'x',
      'v1.k2.e30',
      `v3.k2.e30.${'A'.repeat(43)}`,
      `v1.k2.e30.${'A'.repeat(43)}`, // the format before links named their minting key
      `v1.k2.e30.${'A'.repeat(42)}`,
      `v1.k2..${'A'.repeat(43)}`,
      `v1.k2.e30.${'A'.repeat(43)}.x`,
      'a'.repeat(1100),
    ]) {
      await expectProblem(await follow(token), 400, 'malformed_link_token')
    }
  })
})

describe('tampering, expiry and rotation', () => {
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

  it.each([
    { provider: 'spotify', ad_account_id: SAMPLE.adAccount, asset_id: SAMPLE.image, variant: 'original' },
    { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'original', include: 'metadata' },
  ])(
    'every character of a $provider token changed: never followed, 403 (400 when it breaks the format)',
    async (body) => {
      const token = tokenOf(await mintUrl(body))
      expect((await follow(token)).status).toBe(302)
      const versionEnd = token.indexOf('.')
      let checked = 0
      for (let i = 0; i < token.length; i += 1) {
        const original = token[i]!
        const next = ALPHABET[(ALPHABET.indexOf(original) + 1) % ALPHABET.length]!
        for (const replacement of new Set([next, String.fromCharCode(original.charCodeAt(0) ^ 1)])) {
          if (replacement === original) continue
          const response = await follow(token.slice(0, i) + replacement + token.slice(i + 1))
          const structural = original === '.' || i < versionEnd || !ALPHABET.includes(replacement)
          const allowed = structural ? [400, 403] : [403]
          expect(allowed, `position ${i}: ${original} → ${replacement} answered ${response.status}`).toContain(response.status)
          expect(response.headers.get('content-type')).toBe('application/problem+json')
          checked += 1
        }
      }
      expect(checked).toBeGreaterThan(token.length)
    },
    30_000,
  ) // some 600 requests (a v2 token names its minting key); the machine is shared

  it('a token for one provider or asset replayed against another is refused', async () => {
    const a = tokenOf(await mintUrl({ provider: 'sync', id: SAMPLE.video, variant: 'original' }))
    const b = tokenOf(await mintUrl({ provider: 'frameio', asset_id: SAMPLE.image, variant: 'original' }))
    const [version, kid, payload, signature] = a.split('.') as [string, string, string, string]
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as [
      string,
      Record<string, string>,
      Record<string, string>,
      string,
      number,
      string,
    ]
    const reencode = (c: LinkClaims) => encodeBase64url(new TextEncoder().encode(canonicalPayload(c)))
    const base: LinkClaims = { provider: claims[0], ids: claims[1], query: claims[2], variant: claims[3], exp: claims[4], keyDigest: claims[5] }
    const forgeries = [
      `${a.split('.').slice(0, 3).join('.')}.${b.split('.')[3]}`, // a's claims, b's signature
      `${b.split('.').slice(0, 3).join('.')}.${signature}`, // b's claims, a's signature
      `${version}.${kid}.${reencode({ ...base, provider: 'frameio', ids: { asset_id: SAMPLE.video } })}.${signature}`, // another provider
      `${version}.${kid}.${reencode({ ...base, ids: { id: SAMPLE.image } })}.${signature}`, // another asset
      `${version}.${kid}.${reencode({ ...base, variant: 'thumbnail' })}.${signature}`, // another variant
      `${version}.${kid}.${reencode({ ...base, exp: base.exp + 3600 })}.${signature}`, // a longer life
      `${version}.${kid}.${reencode({ ...base, keyDigest: 'ab'.repeat(32) })}.${signature}`, // another minting key
      `${version}.k1.${payload}.${signature}`, // another listed key id
    ]
    for (const forged of forgeries) await expectProblem(await follow(forged), 403, 'invalid_link_signature')
  })

  it('an expired token is 410 Gone; within the clock-skew allowance it still works', async () => {
    const claims = { provider: 'sync', ids: { id: SAMPLE.video }, query: {}, variant: 'original' }
    const skewS = 30 // LINK_CLOCK_SKEW_S in wrangler.toml
    const expired = await signAs('k2', { ...claims, exp: nowS() - skewS - 1 })
    await expectProblem(await follow(expired), 410, 'link_expired')
    const late = await follow(await signAs('k2', { ...claims, exp: nowS() - 5 }))
    expect(late.status).toBe(302)
    expect(late.headers.get('cache-control')).toBe('private, max-age=0')
  })

  it('an expired token that was also altered is 403, not 410', async () => {
    const expired = await signAs('k2', { provider: 'sync', ids: { id: SAMPLE.video }, query: {}, variant: 'original', exp: nowS() - 3600 })
    const altered = expired.slice(0, -1) + (expired.endsWith('A') ? 'Q' : 'A')
    await expectProblem(await follow(altered), 403, 'invalid_link_signature')
  })

  it('a token signed with an older key that is still listed works', async () => {
    const token = await signAs('k1', { provider: 'gumnut', ids: { asset_id: GUMNUT_SAMPLE.image }, query: {}, variant: 'thumbnail', exp: nowS() + 60 })
    expect(token.startsWith('v2.k1.')).toBe(true)
    expect((await follow(token)).status).toBe(302)
  })

  it('a token signed with a retired (unlisted) key is 403', async () => {
    const retired = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    const claims: LinkClaims = {
      provider: 'gumnut',
      ids: { asset_id: GUMNUT_SAMPLE.image },
      query: {},
      variant: 'thumbnail',
      exp: nowS() + 60,
      keyDigest: await digestKey(DEV_KEY),
    }
    // One code for both: an outsider cannot tell which key ids the gateway lists.
    await expectProblem(await follow(await signLinkToken(claims, 'k0', retired)), 403, 'invalid_link_signature')
    // The listed kid with a secret that is not its own: a forgery.
    await expectProblem(await follow(await signLinkToken(claims, 'k2', retired)), 403, 'invalid_link_signature')
  })
})

describe('the gateway spec describes links as they are', () => {
  const conforms = (schema: string, value: unknown) =>
    new Validator({ ...(spec as object), $ref: `#/components/schemas/${schema}` } as never, '2020-12', false)
      .validate(value)
      .errors.map((e) => `${e.instanceLocation}: ${e.error}`)

  it('accepts every mint body the tests send, and describes the answers', async () => {
    for (const { body } of EVERY_PROVIDER) {
      expect(conforms('LinkRequest', body), JSON.stringify(body)).toEqual([])
      const response = await mint(body)
      expect(conforms('Link', await response.json())).toEqual([])
    }
    expect(conforms('LinkRequest', { provider: 'sync', id: SAMPLE.video, variant: 'preview' })).not.toEqual([])
    expect(conforms('LinkRequest', { provider: 'gumnut', asset_id: GUMNUT_SAMPLE.image, variant: 'thumbnail', id: 'x' })).not.toEqual([])
  })

  it('declares the redirect headers and every link problem', async () => {
    const declared = (spec as unknown as { components: { responses: { LinkRedirect: { headers: Record<string, unknown> } } } }).components.responses
      .LinkRedirect.headers
    const response = await follow(await mintUrl({ provider: 'sync', id: SAMPLE.video, variant: 'original' }))
    for (const name of Object.keys(declared)) expect(response.headers.get(name), name).not.toBeNull()
    const problems = [
      await follow('x'),
      await follow(await signAs('k2', { provider: 'sync', ids: { id: SAMPLE.video }, query: {}, variant: 'original', exp: nowS() - 3600 })),
      await mint({ provider: 'sync', id: SAMPLE.video, variant: 'huge' }),
    ]
    const codes = (spec as unknown as { components: { schemas: { Problem: { description: string } } } }).components.schemas.Problem.description
    for (const problem of problems) {
      const body = (await problem.json()) as { code: string }
      expect(conforms('Problem', body)).toEqual([])
      expect(codes).toContain(`\`${body.code}\``)
    }
  })
})
