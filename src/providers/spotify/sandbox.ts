import { SAMPLE } from '../../sandbox/samples'
import type { ProviderSandbox, SandboxKit } from '../../sandbox/sandbox'
import { signUrl } from '../../sandbox/signed-urls'

/** Seconds after its first lookup that the sandbox "processing" asset becomes READY. */
export const SPOTIFY_PROCESSING_S = 30
const CREATED = '2026-01-23T04:56:07Z'
const HOUR_S = 3600
const TOKEN = /^Bearer sandbox-access-(\d+)-[0-9a-f]+$/

/** Spotify's error body. The trace id is a fixed function of the status, so two equal requests get equal bytes. */
const error = (status: number, message: string) => ({
  sp_trace_id: `5b0dcafe-0000-4000-8000-${String(status).padStart(12, '0')}`,
  messages: [message],
  error_codes: [{ code: `E${status}`, definition: message }],
})

function spotifyRecord(kit: SandboxKit, id: string, media: string, now: number): Record<string, unknown> | undefined {
  const base = { id, created_at: CREATED, updated_at: CREATED }
  switch (id) {
    case SAMPLE.image: // the page's example, v2 spelling
      return {
        ...base,
        name: 'logoImage.png',
        assetType: 'IMAGE',
        status: 'READY',
        url: `${media}/image.png`,
        image_type: 'COMPANION',
        file_type: 'PNG',
        aspect_ratio: 1.7778,
        width: 160,
        height: 90,
      }
    case SAMPLE.video: // v3 spelling, GCS V4 signed URL
      return {
        ...base,
        name: 'spot.mp4',
        asset_type: 'VIDEO',
        status: 'READY',
        url: signUrl(`${media}/video.mp4`, 'gcs-v4', 6 * HOUR_S, now),
        duration_ms: 1000,
        aspect_ratio: 'HORIZONTAL_16_9',
        width: 160,
        height: 90,
        file_type: 'MP4',
        has_audio: false,
        thumbnail_url: `${media}/thumb.jpg`,
      }
    case SAMPLE.audio: // GCS V2 signed URL
      return {
        ...base,
        name: 'jingle.mp3',
        asset_type: 'AUDIO',
        status: 'READY',
        url: signUrl(`${media}/audio.mp3`, 'gcs-v2', 6 * HOUR_S, now),
        audio_type: 'USER_UPLOADED_AUDIO',
        duration_ms: 1000,
        file_type: 'MP3',
      }
    case SAMPLE.processing: {
      const ready = now - kit.state.firstSeen('spotify', id, now) >= SPOTIFY_PROCESSING_S * 1000
      return ready
        ? {
            ...base,
            name: 'uploading.mp4',
            asset_type: 'VIDEO',
            status: 'READY',
            url: signUrl(`${media}/video.mp4`, 'gcs-v4', 6 * HOUR_S, now),
            duration_ms: 1000,
            width: 160,
            height: 90,
            file_type: 'MP4',
            thumbnail_url: `${media}/thumb.jpg`,
          }
        : { ...base, name: 'uploading.mp4', asset_type: 'VIDEO', status: 'PROCESSING', duration_ms: null }
    }
    default:
      return undefined
  }
}

/** A fake Spotify Ads API and accounts service (token endpoint), spec-shaped. */
export const spotifySandbox: ProviderSandbox = {
  name: 'spotify',
  mount(app, kit) {
    app.post('/spotify-accounts/api/token', async (c) => {
      kit.state.count('spotify-token')
      if (!/^Basic \S+$/.test(c.req.header('authorization') ?? '')) return c.json({ error: 'invalid_client' }, 401)
      // Decoded from bytes: workerd warns on .text() of a form body (as Hono's parseBody reads it).
      const params = new URLSearchParams(new TextDecoder().decode(await c.req.arrayBuffer()))
      const form = { grant_type: params.get('grant_type'), refresh_token: params.get('refresh_token') ?? undefined }
      if (form.grant_type !== 'refresh_token' || typeof form.refresh_token !== 'string') return c.json({ error: 'invalid_request' }, 400)
      if (form.refresh_token === 'sandbox-revoked') return c.json({ error: 'invalid_grant', error_description: 'Refresh token revoked' }, 400)
      kit.state.count('spotify-token-minted')
      const expiresIn = 3600
      const token = `sandbox-access-${Math.floor(Date.now() / 1000) + expiresIn}-${crypto.randomUUID().replace(/-/g, '')}`
      const rotated = form.refresh_token === 'sandbox-rotating' ? { refresh_token: 'sandbox-rotated' } : {}
      return c.json({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: '', ...rotated })
    })

    app.get('/spotify/ad_accounts/:ad_account_id/assets/:asset_id', async (c) => {
      kit.state.count('spotify')
      const token = TOKEN.exec(c.req.header('authorization') ?? '')
      if (!token || Number(token[1]) * 1000 < Date.now()) return kit.json(error(401, 'Invalid access token'), 401)
      const id = c.req.param('asset_id')
      const fault = await kit.faultResponse(kit.faultOf(id), error, c.req.raw.signal)
      if (fault) return fault
      const record = c.req.param('ad_account_id') === SAMPLE.adAccount ? spotifyRecord(kit, id, kit.mediaBase(c.req.url), Date.now()) : undefined
      // Spotify answers an unknown asset with 400 and says why in the body.
      return record ? kit.json(record) : kit.json(error(400, 'Asset not found'), 400)
    })
  },
}
