import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'
import { configReader } from '../src/config'
import { decodeBase64url, encodeBase64url } from '../src/encoding'
import { ApiError } from '../src/http/errors'
import { IsolateState } from '../src/isolate-state'
import { keyRing, parseKeyRing } from '../src/links/key-ring'
import { type LinkClaims, signLinkToken, verifyLinkToken } from '../src/links/link-token'
import { redirectTarget } from '../src/links/redirect-target'
import { PROVIDERS } from '../src/providers'

const SECRET_A = btoa('a'.repeat(32))
const SECRET_B = btoa('b'.repeat(32))
const KEYS = JSON.stringify({ old: SECRET_A, new: SECRET_B })

const DIGEST = 'ab'.repeat(32)
const CLAIMS: LinkClaims = {
  provider: 'sync',
  ids: { id: '22222222-2222-4222-8222-222222222222' },
  query: {},
  variant: 'original',
  exp: 1_800_000_000,
  keyDigest: DIGEST,
}
const AT = (seconds: number) => ({ nowMs: seconds * 1000, skewS: 30, maxTtlS: 3600 })
/** A moment while CLAIMS is valid. */
const NEAR = AT(CLAIMS.exp - 60)

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ApiError)
  return err as ApiError
}

describe('link tokens', () => {
  it('verify what they sign, whatever order the maps were built in', async () => {
    const ring = await parseKeyRing(KEYS, 'new')
    const claims: LinkClaims = {
      provider: 'spotify',
      ids: { asset_id: 'b', ad_account_id: 'a' },
      query: { z: '1', a: '2' },
      variant: 'thumbnail',
      exp: 1_800_000_000,
      keyDigest: DIGEST,
    }
    const token = await signLinkToken(claims, 'new', ring.current)
    const reordered = await signLinkToken({ ...claims, ids: { ad_account_id: 'a', asset_id: 'b' }, query: { a: '2', z: '1' } }, 'new', ring.current)
    expect(reordered).toBe(token)
    expect(await verifyLinkToken(token, ring, AT(1_799_999_000))).toEqual(claims)
  })

  it('expire at exp plus the clock-skew allowance, not before', async () => {
    const ring = await parseKeyRing(KEYS, 'new')
    const token = await signLinkToken(CLAIMS, 'new', ring.current)
    await expect(verifyLinkToken(token, ring, AT(CLAIMS.exp + 29))).resolves.toEqual(CLAIMS)
    const gone = await rejection(verifyLinkToken(token, ring, AT(CLAIMS.exp + 30)))
    expect([gone.status, gone.code]).toEqual([410, 'link_expired'])
    await expect(verifyLinkToken(token, ring, { nowMs: (CLAIMS.exp - 1) * 1000, skewS: 0, maxTtlS: 3600 })).resolves.toEqual(CLAIMS)
    expect((await rejection(verifyLinkToken(token, ring, { nowMs: CLAIMS.exp * 1000, skewS: 0, maxTtlS: 3600 }))).status).toBe(410)
  })

  it('verify under any listed key and refuse a key that left the ring', async () => {
    const before = await parseKeyRing(KEYS, 'old')
    const token = await signLinkToken(CLAIMS, 'old', before.current)
    const rotated = await parseKeyRing(KEYS, 'new')
    await expect(verifyLinkToken(token, rotated, NEAR)).resolves.toEqual(CLAIMS)
    const retired = await parseKeyRing(JSON.stringify({ new: SECRET_B }), 'new')
    const err = await rejection(verifyLinkToken(token, retired, NEAR))
    expect([err.status, err.code]).toEqual([403, 'invalid_link_signature'])
  })

  it('never verify after any change (property)', async () => {
    const ring = await parseKeyRing(KEYS, 'new')
    const token = await signLinkToken(CLAIMS, 'new', ring.current)
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: token.length - 1 }),
        fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        async (at, ch) => {
          fc.pre(token[at] !== ch)
          const err = await rejection(verifyLinkToken(token.slice(0, at) + ch + token.slice(at + 1), ring, NEAR))
          expect([400, 403]).toContain(err.status)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('base64url', () => {
  it('round-trips and accepts only the canonical spelling', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeBase64url(encodeBase64url(bytes))).toEqual(bytes)
      }),
    )
    const sig = encodeBase64url(new Uint8Array(32).fill(255)) // 43 chars, last one carries 2 unused bits
    expect(sig.endsWith('8')).toBe(true)
    expect(decodeBase64url(`${sig.slice(0, -1)}9`)).toBeUndefined()
    for (const bad of ['a', 'ab=', 'a+b/', 'a b']) expect(decodeBase64url(bad)).toBeUndefined()
  })
})

describe('key ring', () => {
  it.each([
    ['unset', undefined, 'k1', /not set/],
    ['not JSON', '{', 'k1', /not JSON/],
    ['an array', '[]', 'k1', /JSON object/],
    ['a bad key id', JSON.stringify({ 'k 1': SECRET_A }), 'k 1', /key id/],
    ['a short secret', JSON.stringify({ k1: btoa('short') }), 'k1', /at least 32 bytes/],
    ['a secret that is not base64', JSON.stringify({ k1: '!'.repeat(44) }), 'k1', /at least 32 bytes/],
    ['a current id it does not hold', JSON.stringify({ k1: SECRET_A }), 'k2', /LINK_SIGNING_KEY_ID/],
  ])('refuses %s', async (_name, keys, current, message) => {
    await expect(parseKeyRing(keys, current)).rejects.toThrow(message)
  })

  it('never puts a secret in its errors', async () => {
    await expect(parseKeyRing(JSON.stringify({ k1: 'c2VjcmV0LXNob3J0' }), 'k1')).rejects.not.toThrow(/c2VjcmV0/)
  })

  it('accepts URL-safe and unpadded base64', async () => {
    const urlSafe = SECRET_A.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    await expect(parseKeyRing(JSON.stringify({ k1: urlSafe }), 'k1')).resolves.toMatchObject({ currentId: 'k1' })
  })

  it('answers a misconfiguration with a 500 and logs why, naming no secret', async () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const err = await rejection(keyRing(new IsolateState(), { signingKeys: JSON.stringify({ k1: SECRET_A }), signingKeyId: 'k9' }))
      expect([err.status, err.code]).toEqual([500, 'links_not_configured'])
      expect(err.detail).not.toContain(SECRET_A)
      expect(String(log.mock.calls[0]?.[0])).toContain('LINK_SIGNING_KEY_ID does not name a key')
      expect(String(log.mock.calls[0]?.[0])).not.toContain(SECRET_A)
    } finally {
      log.mockRestore()
    }
  })
})

describe('redirect targets', () => {
  const any = { allowHttp: false, allowedHosts: [] }

  it('are https only, http only in the sandbox', () => {
    expect(redirectTarget('https://cdn.example.com/a.png?sig=1', any)).toBe('https://cdn.example.com/a.png?sig=1')
    expect(redirectTarget('http://cdn.example.com/a.png', any)).toBeUndefined()
    expect(redirectTarget('http://localhost:8787/__sandbox/media/image.png', { ...any, allowHttp: true })).toBe(
      'http://localhost:8787/__sandbox/media/image.png',
    )
    for (const url of [
      'javascript:alert(1)',
      'data:image/png;base64,AA==',
      'ftp://cdn.example.com/a',
      '/relative',
      '//evil.example/x',
      'https://user:pw@cdn.example.com/a',
      '',
    ]) {
      expect(redirectTarget(url, { ...any, allowHttp: true }), url).toBeUndefined()
    }
  })

  it('stay on the allow-list when there is one', () => {
    const policy = { allowHttp: false, allowedHosts: ['assets.frame.io', '*.cloudfront.net'] }
    expect(redirectTarget('https://assets.frame.io/x', policy)).toBe('https://assets.frame.io/x')
    expect(redirectTarget('https://d1.cloudfront.net/x', policy)).toBe('https://d1.cloudfront.net/x')
    for (const url of ['https://evil.io/x', 'https://assets.frame.io.evil.io/x', 'https://evilcloudfront.net/x', 'https://cloudfront.net/x']) {
      expect(redirectTarget(url, policy), url).toBeUndefined()
    }
  })
})

describe('link settings', () => {
  const config = configReader(PROVIDERS.list)
  const linkSettings = (env: Env) => config(env).links
  const allowedHosts = (env: Env, provider: string) => config(env).provider(provider).allowedHosts
  const vars = (v: Partial<Record<'LINK_DEFAULT_TTL_S' | 'LINK_MAX_TTL_S' | 'LINK_CLOCK_SKEW_S', string>>) =>
    ({ LINK_DEFAULT_TTL_S: '', LINK_MAX_TTL_S: '', LINK_CLOCK_SKEW_S: '', ...v }) as Env

  it('default to 300 s, at most 3600 s, 30 s of skew', () => {
    expect(linkSettings(vars({}))).toMatchObject({ defaultTtlS: 300, maxTtlS: 3600, skewS: 30 })
    expect(linkSettings(vars({ LINK_DEFAULT_TTL_S: '60', LINK_MAX_TTL_S: '120', LINK_CLOCK_SKEW_S: '0' }))).toMatchObject({
      defaultTtlS: 60,
      maxTtlS: 120,
      skewS: 0,
    })
    expect(linkSettings(vars({ LINK_DEFAULT_TTL_S: '900', LINK_MAX_TTL_S: '600' })).defaultTtlS).toBe(600)
    expect(linkSettings(vars({ LINK_DEFAULT_TTL_S: 'soon', LINK_MAX_TTL_S: '-1', LINK_CLOCK_SKEW_S: '1.5' }))).toMatchObject({
      defaultTtlS: 300,
      maxTtlS: 3600,
      skewS: 30,
    })
  })

  it("read each provider allow-list by name, defaulting to the provider's media hosts", () => {
    const env = { LINK_ALLOWED_HOSTS_FRAMEIO: ' Assets.Frame.io , *.cloudfront.net,', LINK_ALLOWED_HOSTS_SYNC: '' } as unknown as Env
    expect(allowedHosts(env, 'frameio')).toEqual(['assets.frame.io', '*.cloudfront.net'])
    for (const adapter of PROVIDERS.list) expect(adapter.defaults.mediaHosts?.length, adapter.name).toBeGreaterThan(0)
    expect(allowedHosts(env, 'sync')).toEqual(PROVIDERS.get('sync')?.defaults.mediaHosts)
    expect(allowedHosts(env, 'gumnut')).toEqual(['assets.gumnut.ai'])
    expect(allowedHosts(env, 'spotify')).toContain('storage.googleapis.com')
  })
})
