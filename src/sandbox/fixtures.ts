import { GUMNUT_SAMPLE, SAMPLE } from './ids'
import { signUrl } from './signed-urls'
import { SPOTIFY_PROCESSING_S, sandboxState } from './state'

/**
 * Spec-shaped records of the sandbox providers, built per request so their signed URLs carry
 * live expiries. Seeded from the reference pages' examples; `media` is the sandbox origin's media
 * route. Returns undefined for an unknown id (the provider's 404).
 */
type Build = (id: string, media: string, now: number) => Record<string, unknown> | undefined

const CREATED = '2026-01-23T04:56:07Z'
const HOUR_S = 3600

export const spotifyRecord: Build = (id, media, now) => {
  const base = { id, created_at: CREATED, updated_at: CREATED }
  switch (id) {
    case SAMPLE.image: // the page's example, v2 spelling
      return { ...base, name: 'logoImage.png', assetType: 'IMAGE', status: 'READY', url: `${media}/image.png`, image_type: 'COMPANION', file_type: 'PNG', aspect_ratio: 1.7778, width: 160, height: 90 }
    case SAMPLE.video: // v3 spelling, GCS V4 signed URL
      return { ...base, name: 'spot.mp4', asset_type: 'VIDEO', status: 'READY', url: signUrl(`${media}/video.mp4`, 'gcs-v4', 6 * HOUR_S, now), duration_ms: 1000, aspect_ratio: 'HORIZONTAL_16_9', width: 160, height: 90, file_type: 'MP4', has_audio: false, thumbnail_url: `${media}/thumb.jpg` }
    case SAMPLE.audio: // GCS V2 signed URL
      return { ...base, name: 'jingle.mp3', asset_type: 'AUDIO', status: 'READY', url: signUrl(`${media}/audio.mp3`, 'gcs-v2', 6 * HOUR_S, now), audio_type: 'USER_UPLOADED_AUDIO', duration_ms: 1000, file_type: 'MP3' }
    case SAMPLE.processing: {
      const ready = now - sandboxState.firstSeen('spotify', id, now) >= SPOTIFY_PROCESSING_S * 1000
      return ready
        ? { ...base, name: 'uploading.mp4', asset_type: 'VIDEO', status: 'READY', url: signUrl(`${media}/video.mp4`, 'gcs-v4', 6 * HOUR_S, now), duration_ms: 1000, width: 160, height: 90, file_type: 'MP4', thumbnail_url: `${media}/thumb.jpg` }
        : { ...base, name: 'uploading.mp4', asset_type: 'VIDEO', status: 'PROCESSING', duration_ms: null }
    }
    default:
      return undefined
  }
}

export const syncRecord: Build = (id, media, now) => {
  const base = { id, createdAt: '2024-01-15T09:30:00Z', updatedAt: '2024-01-15T09:30:00Z', visibility: 'ORGANIZATION', inputType: 'UPLOAD' }
  switch (id) {
    case SAMPLE.video: // the page's example, S3 SigV4 signed URLs
      return { ...base, type: 'VIDEO', name: 'example-video.mp4', url: signUrl(`${media}/video.mp4`, 's3', HOUR_S, now), size: 2853, format: 'mp4', durationSeconds: 1, thumbnailUrl: signUrl(`${media}/thumb.jpg`, 'azure', HOUR_S, now), width: 160, height: 90 }
    case SAMPLE.image:
      return { ...base, type: 'IMAGE', name: 'face.png', url: signUrl(`${media}/image.png`, 's3', HOUR_S, now), size: 840, format: 'png', durationSeconds: null, thumbnailUrl: null, width: 160, height: 90 }
    case SAMPLE.audio:
      return { ...base, type: 'AUDIO', name: 'voice.mp3', url: signUrl(`${media}/audio.mp3`, 's3', HOUR_S, now), size: 4511, format: 'mp3', durationSeconds: 1, thumbnailUrl: null, width: null, height: null }
    case SAMPLE.processing:
      return { ...base, type: 'VIDEO', name: 'importing.mp4', inputType: 'URL', url: null, size: null, format: null, durationSeconds: null, thumbnailUrl: null, width: null, height: null }
    default:
      return undefined
  }
}

function rung(mimetype: string, url: string, width: number | null) {
  return { mimetype, url, width }
}

export const gumnutRecord = (id: string, media: string, now: number, include: ReadonlySet<string>): Record<string, unknown> | undefined => {
  const change = sandboxState.of('gumnut', id)
  if (change.deleted) return undefined
  const record = gumnutBase(id, media, now, include)
  return record && change.version > 1
    ? { ...record, description: `${String(record.description)} (edit ${change.version})`, updated_at: new Date(now).toISOString() }
    : record
}

const gumnutBase = (id: string, media: string, now: number, include: ReadonlySet<string>): Record<string, unknown> | undefined => {
  const sign = (file: string) => signUrl(`${media}/${file}`, 'gumnut', HOUR_S, now)
  const base = {
    id,
    created_at: '2024-07-15T12:00:05Z',
    updated_at: '2024-07-15T12:00:05Z',
    current_version_id: `asset_version_${id.slice(6)}`,
    kind: 'original',
    local_datetime: '2024-07-15T12:00:00',
    description: 'A colour test card.',
    faces: include.has('faces') ? [] : null,
    people: include.has('people') ? [] : null,
    metadata: include.has('metadata') ? { make: 'Sandbox', model: 'Test Card' } : null,
    metrics: include.has('metrics') ? { aesthetic_score: 0.5 } : null,
    file_data: include.has('file_data') ? { file_size_bytes: 840, checksum: 'sandbox' } : null,
    trashed_at: null,
  }
  const variants = include.has('variants')
  switch (id) {
    case GUMNUT_SAMPLE.image:
    case GUMNUT_SAMPLE.deleted:
      return {
        ...base,
        mime_type: 'image/png',
        original_file_name: 'test-card.png',
        width: 160,
        height: 90,
        duration: null,
        thumbhash: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
        asset_urls: variants
          ? { original: rung('image/png', sign('image.png'), 160), thumbnail: rung('image/jpeg', sign('thumb.jpg'), 64), preview: rung('image/png', sign('image.png'), 160) }
          : { thumbnail: rung('image/jpeg', sign('thumb.jpg'), 64) },
        ...(id === GUMNUT_SAMPLE.deleted ? { trashed_at: '2026-11-01T00:00:00Z' } : {}),
      }
    case GUMNUT_SAMPLE.video:
      return {
        ...base,
        mime_type: 'video/mp4',
        original_file_name: 'test-card.mp4',
        width: 160,
        height: 90,
        duration: 1,
        thumbhash: '1QcSHQRnh493V4dIh4eXh1h4kJUI',
        asset_urls: variants
          ? { original: rung('video/mp4', sign('video.mp4'), 160), thumbnail_image: rung('image/jpeg', sign('thumb.jpg'), 64) }
          : { thumbnail_image: rung('image/jpeg', sign('thumb.jpg'), 64) },
      }
    case GUMNUT_SAMPLE.processing:
      return { ...base, mime_type: 'image/jpeg', original_file_name: 'just-uploaded.jpg', width: null, height: null, duration: null, thumbhash: null, description: null, asset_urls: {} }
    default:
      return undefined
  }
}

const LABELS = ['in_progress', 'needs_review', 'approved'] as const

export const frameioRecord = (id: string, media: string, now: number, includeDeleted: boolean): Record<string, unknown> | undefined => {
  const change = sandboxState.of('frameio', id)
  if (change.deleted && !includeDeleted) return undefined
  const record = frameioBase(id, media, now, includeDeleted, change.ready)
  if (!record) return undefined
  const edited = change.version > 1 ? { label: LABELS[(change.version - 1) % LABELS.length], updated_at: new Date(now).toISOString(), version: change.version } : {}
  const deleted = change.deleted ? { deleted_at: new Date(now).toISOString() } : {}
  return { ...record, ...edited, ...deleted }
}

const frameioBase = (id: string, media: string, now: number, includeDeleted: boolean, madeReady: boolean): Record<string, unknown> | undefined => {
  const base = {
    id,
    _type: 'file',
    type: 'file',
    account_id: '449e7a5c-69d3-4b8a-aaaf-5c9b713ebc65',
    project_id: '405d8375-3514-403b-8c43-83ae74cfe0e9',
    team_id: '810007d0-bec5-486c-b5d1-28fcd8a079ba',
    parent_id: '6bd8f503-67d9-4b55-b7c3-e1b6bef82750',
    label: 'in_progress',
    index: 0,
    view_count: 0,
    is_session_watermarked: false,
    inserted_at: '2026-01-23T04:56:07Z',
    upload_completed_at: '2026-01-23T04:56:09Z',
    deleted_at: null,
    hard_deleted_at: null,
    archive_from: null,
  }
  const cf = (file: string, lifetimeS: number) => signUrl(`${media}/${file}`, 'cloudfront', lifetimeS, now)
  switch (id) {
    case SAMPLE.image:
      return { ...base, name: 'still.png', asset_type: 'image', filetype: 'image/png', filesize: 840, frames: 1, original: cf('image.png', 2 * HOUR_S), thumb: signUrl(`${media}/thumb.jpg`, 'cloudfront-policy', 2 * HOUR_S, now), thumb_540: cf('thumb.jpg', 2 * HOUR_S) }
    case SAMPLE.video:
      return { ...base, name: 'cut-v3.mp4', asset_type: 'stream', filetype: 'video/mp4', filesize: 2853, frames: 10, fps: 10, duration: 1, is_hls_required: false, original: cf('video.mp4', 2 * HOUR_S), thumb: cf('thumb.jpg', 2 * HOUR_S), h264_720: signUrl(`${media}/video.mp4`, 'jwt', 2 * HOUR_S, now), transcodes: { finalized: true } }
    case SAMPLE.processing:
      return madeReady
        ? { ...base, name: 'uploading.mov', asset_type: 'stream', filetype: 'video/quicktime', original: cf('video.mp4', 2 * HOUR_S), thumb: cf('thumb.jpg', 2 * HOUR_S), transcodes: { finalized: true } }
        : { ...base, name: 'uploading.mov', asset_type: 'stream', filetype: 'video/quicktime', upload_completed_at: null, transcodes: { finalized: false }, original: null }
    case SAMPLE.deleted:
      return includeDeleted ? { ...base, name: 'old-cut.mp4', asset_type: 'stream', deleted_at: '2026-11-01T00:00:00Z', original: null } : undefined
    default:
      return undefined
  }
}
