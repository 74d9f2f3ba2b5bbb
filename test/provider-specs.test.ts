import { Validator } from '@cfworker/json-schema'
import { describe, expect, it } from 'vitest'
import spec from '../src/generated/asset-edge.openapi.json'
import type { components as Frameio } from '../src/generated/frameio'
import type { components as Gumnut } from '../src/generated/gumnut'
import type { components as Spotify } from '../src/generated/spotify-ads'
import type { components as Sync } from '../src/generated/sync'
import { PROVIDERS } from '../src/providers'

/**
 * Records shaped as the providers really send them (nulls in Frame.io's nullable fields, an array
 * `required_transcodes`, Gumnut without `asset_urls`, enum values the pages do not list) must
 * validate against the transcribed specs, and the generated types must accept them: each fixture
 * below is typed with its provider's generated `Asset`, so `npm run typecheck` fails if a spec
 * grows stricter than the provider again.
 */

const frameioRecord = {
  id: '497f6eca-6276-4993-bfeb-53cbbbba6f08',
  type: 'file',
  _type: 'file',
  name: 'interview.mov',
  asset_type: null,
  label: null,
  metadata: null,
  properties: null,
  creator: null,
  required_transcodes: ['h264_720', 'thumb'],
  upload_completed_at: '2026-01-23T04:56:09Z',
  transcoded_at: null,
  original: null,
} satisfies Frameio['schemas']['Asset']

const frameioNewKinds = {
  id: '497f6eca-6276-4993-bfeb-53cbbbba6f08',
  type: 'review_set',
  asset_type: 'three_d',
  required_transcodes: { h264_720: true, finalized: ['h264_720'] },
  transcoded_at: '2026-01-23T04:57:00Z',
} satisfies Frameio['schemas']['Asset']

const gumnutRecord = {
  id: 'asset_7Kq2mZxY9pRvT4bWn3HcDe',
  mime_type: 'image/heic',
  original_file_name: 'IMG_0421.HEIC',
  created_at: '2024-07-16T08:31:02.114Z',
  updated_at: '2024-07-16T08:33:47.903Z',
  current_version_id: 'asset_version_3fJq8LwP2aZk9RmT6yXcVb',
  kind: 'ai_enhanced',
  file_size_bytes: 3481022,
} satisfies Gumnut['schemas']['Asset']

const syncRecord = {
  id: 'asset-7f3c', // a plain string, as the page says
  createdAt: '2024-01-15T09:30:00Z',
  updatedAt: '2024-01-15T09:30:00Z',
  type: 'DOCUMENT',
  visibility: 'TEAM',
  inputType: 'GENERATION',
  url: null,
} satisfies Sync['schemas']['Asset']

const spotifyRecord = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'logo.webp',
  created_at: '2026-01-23T04:56:07Z',
  updated_at: '2026-01-23T04:56:07Z',
  asset_type: 'IMAGE',
  status: 'ARCHIVED',
  file_type: 'WEBP',
  image_type: 'BACKGROUND',
} satisfies Spotify['schemas']['ImageAsset']

const spotifyAudio = {
  id: '33333333-3333-4333-8333-333333333333',
  name: 'voice.ogg',
  created_at: '2026-01-23T04:56:07Z',
  updated_at: '2026-01-23T04:56:07Z',
  asset_type: 'AUDIO',
  status: 'READY',
  audio_type: 'AI_VOICEOVER',
  file_type: 'OGG',
} satisfies Spotify['schemas']['AudioAsset']

function errorsOf(schema: string, record: unknown): string[] {
  const validator = new Validator({ ...(spec as object), $ref: `#/components/schemas/${schema}` } as never, '2020-12', false)
  return validator.validate(record).errors.map((e) => `${e.instanceLocation}: ${e.error}`)
}

describe('real-shaped records validate against the transcribed specs', () => {
  it.each([
    ['FrameioAsset', frameioRecord],
    ['FrameioAsset', frameioNewKinds],
    ['GumnutAsset', gumnutRecord],
    ['SyncAsset', syncRecord],
    ['SpotifyAsset', spotifyRecord],
    ['SpotifyAsset', spotifyAudio],
  ] as const)('%s %#', (schema, record) => {
    expect(errorsOf(schema, record)).toEqual([])
  })

  it('still refuses what the providers never send', () => {
    expect(errorsOf('SyncAsset', { ...syncRecord, type: 7 })).not.toEqual([])
    expect(errorsOf('GumnutAsset', { ...gumnutRecord, asset_urls: 'nope' })).not.toEqual([])
    expect(errorsOf('FrameioAsset', { ...frameioRecord, required_transcodes: 'all' })).not.toEqual([])
  })
})

describe('Frame.io pending detection reads the fields Frame.io sends', () => {
  const frameio = PROVIDERS.get('frameio')
  const state = (record: object) => frameio?.facts({ id: frameioRecord.id, ...record }).state
  it.each([
    [{ upload_completed_at: null }, 'processing'],
    [{ upload_completed_at: '2026-01-23T04:56:09Z', type: 'file', transcoded_at: null }, 'processing'],
    [{ type: 'file', required_transcodes: { h264_720: true, thumb: true, finalized: ['thumb'] } }, 'processing'],
    [{ type: 'file', required_transcodes: { h264_720: true, h264_2160: false, finalized: ['h264_720'] } }, 'ready'],
    [{ type: 'file', transcoded_at: '2026-01-23T04:57:00Z', required_transcodes: ['h264_720'] }, 'ready'],
    [{ type: 'folder', transcoded_at: null, required_transcodes: [] }, 'ready'],
    [{ ...frameioRecord }, 'processing'],
    [{ deleted_at: '2026-11-01T00:00:00Z', upload_completed_at: null }, 'deleted'],
  ] as const)('%j → %s', (record, expected) => {
    expect(state(record)).toBe(expected)
  })
})
