import { beforeEach, describe, expect, it } from 'vitest'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, expectProviderAnswer, resetState, sandboxStats } from './helpers'

beforeEach(resetState)

const HAPPY = [
  { provider: 'spotify', path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.image}`, id: SAMPLE.image },
  { provider: 'spotify', path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.video}`, id: SAMPLE.video },
  { provider: 'spotify', path: `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.audio}`, id: SAMPLE.audio },
  { provider: 'sync', path: `/sync/v2/assets/${SAMPLE.video}`, id: SAMPLE.video },
  { provider: 'sync', path: `/sync/v2/assets/${SAMPLE.image}`, id: SAMPLE.image },
  { provider: 'gumnut', path: `/gumnut/api/assets/${GUMNUT_SAMPLE.image}`, id: GUMNUT_SAMPLE.image },
  { provider: 'gumnut', path: `/gumnut/api/assets/${GUMNUT_SAMPLE.video}?include=variants`, id: GUMNUT_SAMPLE.video },
  { provider: 'frameio', path: `/frameio/v2/assets/${SAMPLE.image}`, id: SAMPLE.image },
  { provider: 'frameio', path: `/frameio/v2/assets/${SAMPLE.video}`, id: SAMPLE.video },
] as const

describe('lookups', () => {
  it.each(HAPPY)('$provider $path answers the provider record', async ({ provider, path, id }) => {
    const response = await call(path)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/json/)
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const body = (await response.json()) as { id: string }
    expect(body.id).toBe(id)
    expect(sandboxStats.calls(provider)).toBe(1)
  })

  it('passes the body through unchanged, unknown fields included', async () => {
    const body = (await (await call(`/frameio/v2/assets/${SAMPLE.video}`)).json()) as Record<string, unknown>
    // `fps` is not in the page's schema; a pass-through gateway keeps it.
    expect(body.fps).toBe(10)
    expect(body.required_transcodes).toEqual({ h264_720: true, thumb: true, h264_2160: false, finalized: ['h264_720', 'thumb'] })
  })

  it('passes rate-limit headers through', async () => {
    const response = await call(`/frameio/v2/assets/${SAMPLE.image}`)
    expect(response.headers.get('x-ratelimit-limit')).toBe('5')
    expect(response.headers.get('x-ratelimit-window')).toBe('1000')
    expect(response.headers.get('x-ratelimit-remaining')).toBe('4')
  })

  it('keeps a well-formed caller request id', async () => {
    const response = await call(`/sync/v2/assets/${SAMPLE.video}`, { headers: { 'x-request-id': 'trace-abc-12345' } })
    expect(response.headers.get('x-request-id')).toBe('trace-abc-12345')
  })

  it('normalises upper-case UUIDs', async () => {
    const response = await call(`/sync/v2/assets/${SAMPLE.video.toUpperCase()}`)
    expect(response.status).toBe(200)
  })

  it('sends Gumnut include values upstream as the canonical set', async () => {
    const response = await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.image}?include=faces,variants&include=faces`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { faces: unknown; people: unknown; asset_urls: Record<string, unknown> }
    expect(body.faces).toEqual([])
    expect(body.people).toBeNull()
    expect(Object.keys(body.asset_urls).sort()).toEqual(['original', 'preview', 'thumbnail'])
  })

  it('answers a Frame.io deleted asset only with include_deleted=true', async () => {
    await expectProviderAnswer(await call(`/frameio/v2/assets/${SAMPLE.deleted}`), 404, 'asset_not_found')
    const response = await call(`/frameio/v2/assets/${SAMPLE.deleted}?include_deleted=true`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { deleted_at: string }).deleted_at).toBeTruthy()
  })

  it('answers not-yet-ready assets as the provider does', async () => {
    const spotify = (await (await call(`/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.processing}`)).json()) as { status: string }
    expect(spotify.status).toBe('PROCESSING')
    const gumnut = (await (await call(`/gumnut/api/assets/${GUMNUT_SAMPLE.processing}`)).json()) as { thumbhash: unknown }
    expect(gumnut.thumbhash).toBeNull()
  })
})
