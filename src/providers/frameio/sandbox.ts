import { SAMPLE } from '../../sandbox/samples'
import type { ProviderSandbox, SandboxKit } from '../../sandbox/sandbox'
import { signUrl } from '../../sandbox/signed-urls'
import { sandboxSecrets } from './meta.ts'
import { signFrameioWebhook } from './webhook'

/** The secret the sandbox signs its webhooks with; `npm run dev` configures the gateway with it unless .dev.vars sets one. */
const SANDBOX_WEBHOOK_SECRET = sandboxSecrets.FRAMEIO_WEBHOOK_SECRET ?? ''
const HOUR_S = 3600
const LIMITS = { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-window': '1000' }
const error = (status: number, message: string) => ({ code: status, message, errors: [{ code: status, detail: message, status, title: message }] })

const LABELS = ['in_progress', 'needs_review', 'approved'] as const

function frameioRecord(kit: SandboxKit, id: string, media: string, now: number, includeDeleted: boolean): Record<string, unknown> | undefined {
  const change = kit.state.of('frameio', id)
  if (change.deleted && !includeDeleted) return undefined
  const record = frameioBase(id, media, now, includeDeleted, change.ready)
  if (!record) return undefined
  const edited =
    change.version > 1
      ? { label: LABELS[(change.version - 1) % LABELS.length], updated_at: new Date(change.at ?? now).toISOString(), version: change.version }
      : {}
  const deleted = change.deleted ? { deleted_at: new Date(change.at ?? now).toISOString() } : {}
  return { ...record, ...edited, ...deleted }
}

function frameioBase(id: string, media: string, now: number, includeDeleted: boolean, madeReady: boolean): Record<string, unknown> | undefined {
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
      return {
        ...base,
        name: 'still.png',
        asset_type: 'image',
        filetype: 'image/png',
        filesize: 840,
        frames: 1,
        original: cf('image.png', 2 * HOUR_S),
        thumb: signUrl(`${media}/thumb.jpg`, 'cloudfront-policy', 2 * HOUR_S, now),
        thumb_540: cf('thumb.jpg', 2 * HOUR_S),
        // Real records carry nulls in these, and an array `required_transcodes`.
        transcoded_at: '2026-01-23T04:56:30Z',
        required_transcodes: [],
        properties: null,
        metadata: null,
        creator: null,
      }
    case SAMPLE.video:
      return {
        ...base,
        name: 'cut-v3.mp4',
        asset_type: 'stream',
        filetype: 'video/mp4',
        filesize: 2853,
        frames: 10,
        fps: 10,
        duration: 1,
        is_hls_required: false,
        original: cf('video.mp4', 2 * HOUR_S),
        thumb: cf('thumb.jpg', 2 * HOUR_S),
        h264_720: signUrl(`${media}/video.mp4`, 'jwt', 2 * HOUR_S, now),
        transcoded_at: '2026-01-23T04:57:12Z',
        required_transcodes: { h264_720: true, thumb: true, h264_2160: false, finalized: ['h264_720', 'thumb'] },
      }
    case SAMPLE.processing:
      return madeReady
        ? {
            ...base,
            name: 'uploading.mov',
            asset_type: 'stream',
            filetype: 'video/quicktime',
            original: cf('video.mp4', 2 * HOUR_S),
            thumb: cf('thumb.jpg', 2 * HOUR_S),
            transcoded_at: new Date(now).toISOString(),
            required_transcodes: { h264_720: true, thumb: true, finalized: ['h264_720', 'thumb'] },
          }
        : {
            ...base,
            name: 'uploading.mov',
            asset_type: 'stream',
            filetype: 'video/quicktime',
            upload_completed_at: null,
            transcoded_at: null,
            required_transcodes: [],
            original: null,
          }
    case SAMPLE.deleted:
      return includeDeleted ? { ...base, name: 'old-cut.mp4', asset_type: 'stream', deleted_at: '2026-11-01T00:00:00Z', original: null } : undefined
    default:
      return undefined
  }
}

/** A fake Frame.io API v2, spec-shaped, with a control route that changes an asset and hands back its signed webhook. */
export const frameioSandbox: ProviderSandbox = {
  name: 'frameio',
  mount(app, kit) {
    app.get('/frameio/v2/assets/:asset_id', async (c) => {
      kit.state.count('frameio')
      const id = c.req.param('asset_id')
      const fault = await kit.faultResponse(kit.faultOf(id), error, c.req.raw.signal)
      if (fault) return fault
      const record = frameioRecord(kit, id, kit.mediaBase(c.req.url), Date.now(), c.req.query('include_deleted') === 'true')
      return record ? kit.json(record, 200, LIMITS) : kit.json(error(404, 'Not Found'), 404, LIMITS)
    })

    // Control route (development key): the sandbox changes an asset and returns the webhook Frame.io
    // would send, signed with the sandbox's own secret; `npm run webhook` delivers it to /webhooks/frameio.
    app.post('/frameio/_webhooks', async (c) => {
      const refused = kit.requireDevKey(c)
      if (refused) return refused
      const { type, id } = await c.req.json<{ type?: string; id?: string }>()
      if (typeof type !== 'string' || typeof id !== 'string') return c.json({ error: 'send { type, id }' }, 400)
      kit.state.applyEvent('frameio', id, type)
      const body = JSON.stringify({ type, resource: { type: 'asset', id }, user: { id: 'sandbox-user' }, team: { id: 'sandbox-team' } })
      return c.json({ body, headers: await signFrameioWebhook(SANDBOX_WEBHOOK_SECRET, body, Math.floor(Date.now() / 1000)) })
    })
  },
}
