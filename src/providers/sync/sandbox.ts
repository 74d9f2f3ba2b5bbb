import { SAMPLE } from '../../sandbox/samples'
import type { ErrorBody, ProviderSandbox } from '../../sandbox/sandbox'
import { signUrl } from '../../sandbox/signed-urls'

const HOUR_S = 3600
const error: ErrorBody = (status, message, invalid) => ({ message, statusCode: status, ...(invalid ? { field: invalid.param } : {}) })

function syncRecord(id: string, media: string, now: number): Record<string, unknown> | undefined {
  const base = { id, createdAt: '2024-01-15T09:30:00Z', updatedAt: '2024-01-15T09:30:00Z', visibility: 'ORGANIZATION', inputType: 'UPLOAD' }
  switch (id) {
    case SAMPLE.video: // the page's example, S3 SigV4 signed URLs
      return {
        ...base,
        type: 'VIDEO',
        name: 'example-video.mp4',
        url: signUrl(`${media}/video.mp4`, 's3', HOUR_S, now),
        size: 2853,
        format: 'mp4',
        durationSeconds: 1,
        thumbnailUrl: signUrl(`${media}/thumb.jpg`, 'azure', HOUR_S, now),
        width: 160,
        height: 90,
      }
    case SAMPLE.image:
      return {
        ...base,
        type: 'IMAGE',
        name: 'face.png',
        url: signUrl(`${media}/image.png`, 's3', HOUR_S, now),
        size: 840,
        format: 'png',
        durationSeconds: null,
        thumbnailUrl: null,
        width: 160,
        height: 90,
      }
    case SAMPLE.audio:
      return {
        ...base,
        type: 'AUDIO',
        name: 'voice.mp3',
        url: signUrl(`${media}/audio.mp3`, 's3', HOUR_S, now),
        size: 4511,
        format: 'mp3',
        durationSeconds: 1,
        thumbnailUrl: null,
        width: null,
        height: null,
      }
    case SAMPLE.processing:
      return {
        ...base,
        type: 'VIDEO',
        name: 'importing.mp4',
        inputType: 'URL',
        url: null,
        size: null,
        format: null,
        durationSeconds: null,
        thumbnailUrl: null,
        width: null,
        height: null,
      }
    default:
      return undefined
  }
}

/** A fake Sync API, spec-shaped. */
export const syncSandbox: ProviderSandbox = {
  name: 'sync',
  mount(app, kit) {
    app.get('/sync/v2/assets/:id', async (c) => {
      kit.state.count('sync')
      const id = c.req.param('id')
      const fault = await kit.faultResponse(kit.faultOf(id), error, c.req.raw.signal)
      if (fault) return fault
      const record = syncRecord(id, kit.mediaBase(c.req.url), Date.now())
      return record ? kit.json(record) : kit.json(error(404, 'Asset not found'), 404)
    })
  },
}
