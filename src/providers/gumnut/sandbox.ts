import type { SampleIds } from '../../sandbox/samples'
import type { ErrorBody, ProviderSandbox, SandboxKit } from '../../sandbox/sandbox'
import { signUrl } from '../../sandbox/signed-urls'

/** Gumnut's sample ids (its ids are `asset_…`, not UUIDs). */
export const GUMNUT_SAMPLE = {
  image: 'asset_sandbox_image',
  video: 'asset_sandbox_video',
  processing: 'asset_sandbox_processing',
  deleted: 'asset_sandbox_trashed',
  unknown: 'asset_sandbox_unknown',
  fail500: 'asset_fail_500',
  fail429: 'asset_fail_429',
  fail401: 'asset_fail_401',
  fail403: 'asset_fail_403',
  fail400: 'asset_fail_422',
  hang: 'asset_hang',
  malformed: 'asset_malformed',
  fail502: 'asset_fail_502',
  fail503: 'asset_fail_503',
  refused: 'asset_refused',
  truncated: 'asset_truncated',
  wrongType: 'asset_wrong_type',
  oversized: 'asset_oversized',
} as const satisfies SampleIds

const HOUR_S = 3600
const FEED = 'gumnut'
/** FastAPI's error bodies: `{ detail: string }`, and for a refused input (422) a list of what failed where. */
const error: ErrorBody = (status, message, invalid) =>
  status === 422 && invalid ? { detail: [{ type: 'value_error', loc: ['query', invalid.param], msg: message, input: invalid.value }] } : { detail: message }
/** Gumnut's documented `include` values; the sandbox refuses any other with a 422, as Gumnut does. */
const INCLUDES = ['metadata', 'faces', 'people', 'metrics', 'file_data', 'variants']

function rung(mimetype: string, url: string, width: number | null) {
  return { mimetype, url, width }
}

function gumnutRecord(kit: SandboxKit, id: string, media: string, now: number, include: ReadonlySet<string>): Record<string, unknown> | undefined {
  const change = kit.state.of('gumnut', id)
  if (change.deleted) return undefined
  const record = gumnutBase(id, media, now, include)
  return record && change.version > 1
    ? { ...record, description: `${String(record.description)} (edit ${change.version})`, updated_at: new Date(change.at ?? now).toISOString() }
    : record
}

function gumnutBase(id: string, media: string, now: number, include: ReadonlySet<string>): Record<string, unknown> | undefined {
  const sign = (file: string) => signUrl(`${media}/${file}`, 'opaque', HOUR_S, now)
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
          ? {
              original: rung('image/png', sign('image.png'), 160),
              thumbnail: rung('image/jpeg', sign('thumb.jpg'), 64),
              preview: rung('image/png', sign('image.png'), 160),
            }
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
      return {
        ...base,
        mime_type: 'image/jpeg',
        original_file_name: 'just-uploaded.jpg',
        width: null,
        height: null,
        duration: null,
        thumbhash: null,
        description: null,
        asset_urls: {},
      }
    default:
      return undefined
  }
}

/** A fake Gumnut API (assets and the events feed), spec-shaped. */
export const gumnutSandbox: ProviderSandbox & { samples: SampleIds } = {
  name: 'gumnut',
  samples: GUMNUT_SAMPLE,
  mount(app, kit) {
    app.get('/gumnut/api/assets/:asset_id', async (c) => {
      kit.state.count('gumnut')
      const id = c.req.param('asset_id')
      const fault = await kit.faultResponse(kit.faultOf(id, GUMNUT_SAMPLE), error, c.req.raw.signal, 422)
      if (fault) return fault
      const include = new Set(c.req.queries('include')?.flatMap((v) => v.split(',')) ?? [])
      const unknown = [...include].find((value) => !INCLUDES.includes(value))
      if (unknown !== undefined) {
        return kit.json(error(422, `Input should be ${INCLUDES.map((v) => `'${v}'`).join(', ')}`, { param: 'include', value: unknown }), 422)
      }
      const record = gumnutRecord(kit, id, kit.mediaBase(c.req.url), Date.now(), include)
      return record ? kit.json(record) : kit.json(error(404, 'Asset not found'), 404)
    })

    // Control route (development key): the sandbox Gumnut changes an asset and records the event in its feed.
    app.post('/gumnut/_events', async (c) => {
      const refused = kit.requireDevKey(c)
      if (refused) return refused
      const { event_type, id } = await c.req.json<{ event_type?: string; id?: string }>()
      if (typeof event_type !== 'string' || typeof id !== 'string') return c.json({ error: 'send { event_type, id }' }, 400)
      kit.state.applyEvent('gumnut', id, event_type)
      return c.json(kit.state.append(FEED, { entity_id: id, entity_type: 'asset', event_type }), 201)
    })

    app.get('/gumnut/api/events', (c) => {
      kit.state.count('gumnut-events')
      const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 20) || 20))
      const types = c.req.query('entity_types')?.split(',')
      const page = kit.state.after(FEED, c.req.query('after_cursor'), limit)
      return kit.json({ ...page, data: types ? page.data.filter((e) => types.includes(e.entity_type)) : page.data })
    })
  },
}
