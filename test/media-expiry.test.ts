import { describe, expect, it } from 'vitest'
import { mediaUrlExpiry } from '../src/cache/media-expiry'
import { mediaDeadline, recordWindows } from '../src/cache/policy'
import { configReader } from '../src/config'
import { PROVIDERS } from '../src/providers'

const policyFromEnv = configReader(PROVIDERS.list)

import { signUrl, type UrlFormat } from '../src/sandbox/signed-urls'

const NOW = Date.UTC(2026, 10, 23, 18, 0, 0)
const S = 1000

describe('reading expiries from signed media URLs', () => {
  const visible: UrlFormat[] = ['cloudfront', 'cloudfront-policy', 's3', 'gcs-v4', 'gcs-v2', 'azure', 'jwt']
  it.each(visible)('%s', (format) => {
    const url = signUrl('https://media.example.com/a/b.mp4?x=1', format, 600, NOW)
    expect(mediaUrlExpiry(url)).toBe(Math.floor(NOW / 1000) * 1000 + 600 * S)
  })

  it('sees no expiry in plain URLs and in Gumnut verify/dl URLs', () => {
    expect(mediaUrlExpiry('https://i.scdn.co/image/123')).toBeUndefined()
    expect(mediaUrlExpiry(signUrl('https://assets.gumnut.ai/x.jpg', 'opaque', 600, NOW))).toBeUndefined()
  })

  it('reads the examples PROVIDERS.md lists, literally', () => {
    expect(mediaUrlExpiry('https://d1.cloudfront.net/o.mp4?Expires=1795464000&Signature=abc&Key-Pair-Id=K')).toBe(1795464000 * S)
    expect(mediaUrlExpiry('https://b.s3.amazonaws.com/o?X-Amz-Date=20261123T180000Z&X-Amz-Expires=3600&X-Amz-Signature=a')).toBe(Date.UTC(2026, 10, 23, 19))
    expect(mediaUrlExpiry('https://storage.googleapis.com/b/o?X-Goog-Date=20261123T180000Z&X-Goog-Expires=900&X-Goog-Signature=a')).toBe(
      Date.UTC(2026, 10, 23, 18, 15),
    )
    expect(mediaUrlExpiry('https://a.blob.core.windows.net/c/b?sv=2022-11-02&se=2026-11-23T19%3A30%3A00Z&sig=x')).toBe(Date.UTC(2026, 10, 23, 19, 30))
  })

  it('takes the earliest of several expiries in one URL', () => {
    expect(mediaUrlExpiry('https://x.test/o?Expires=2000000000&X-Amz-Date=20261123T180000Z&X-Amz-Expires=60')).toBe(Date.UTC(2026, 10, 23, 18, 1))
  })

  it.each([
    'not a url',
    'https://x.test/o?Expires=soon',
    'https://x.test/o?X-Amz-Date=garbage&X-Amz-Expires=60',
    'https://x.test/o?Policy=%%%',
    'https://x.test/o?token=a.b.c',
    'https://x.test/o?se=yesterday',
  ])('ignores malformed expiry parameters: %s', (url) => {
    expect(mediaUrlExpiry(url)).toBeUndefined()
  })
})

describe('capping freshness by the media URLs', () => {
  const policy = policyFromEnv({})

  it('keeps a ready record fresh 5 min when its URLs live long', () => {
    const w = recordWindows(policy, 'frameio', { state: 'ready', mediaUrls: [signUrl('https://m.test/o', 'cloudfront', 7200, NOW)] }, NOW)
    expect(w.freshUntil).toBe(NOW + 300 * S)
    expect(w.staleUntil).toBe(NOW + 3900 * S)
    expect(w.staleIfErrorUntil).toBe(Math.floor(NOW / 1000) * 1000 + (7200 - 60) * S)
  })

  it('never lets a record outlive its media URLs minus MEDIA_URL_MIN_VALIDITY_S', () => {
    const url = signUrl('https://m.test/o', 's3', 200, NOW)
    const w = recordWindows(policy, 'sync', { state: 'ready', mediaUrls: [url] }, NOW)
    expect(w.freshUntil).toBe(NOW + 140 * S)
    expect(w.staleUntil).toBe(NOW + 140 * S)
    expect(w.staleIfErrorUntil).toBe(NOW + 140 * S)
  })

  it('uses the assumed lifetime for URLs whose expiry is invisible', () => {
    const gumnut = recordWindows(policy, 'gumnut', { state: 'ready', mediaUrls: ['https://assets.gumnut.ai/x?verify=a&dl=0'] }, NOW)
    expect(gumnut.staleIfErrorUntil).toBe(NOW + (900 - 60) * S)
    const tuned = policyFromEnv({ MEDIA_ASSUMED_LIFETIME_S_GUMNUT: '120' })
    expect(recordWindows(tuned, 'gumnut', { state: 'ready', mediaUrls: ['https://assets.gumnut.ai/x?verify=a'] }, NOW).freshUntil).toBe(NOW + 60 * S)
  })

  it('gives a pending asset a few seconds and no stale-while-revalidate', () => {
    const w = recordWindows(policy, 'spotify', { state: 'processing', mediaUrls: [] }, NOW)
    expect(w.freshUntil).toBe(NOW + 5 * S)
    expect(w.staleUntil).toBe(NOW + 5 * S)
  })

  it('marks a record with an already-expiring URL unusable at once', () => {
    expect(mediaDeadline(policy, 'frameio', [signUrl('https://m.test/o', 'cloudfront', 30, NOW)], NOW)).toBeLessThan(NOW)
  })
})
