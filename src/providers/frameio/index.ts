import createClient from 'openapi-fetch'
import type { components, paths } from '../../generated/frameio'
import { booleanQuery, cacheKeyOf, onlyKnownQuery, setQuery, uuidParam } from '../params'
import { field, isObject, own, str, urls } from '../record'
import type { ProviderAdapter } from '../types'
import { meta } from './meta.ts'
import { frameioWebhook } from './webhook'

type Asset = components['schemas']['Asset']

const QUERY_PARAMS: readonly string[] = ['include_deleted', 'type']
/** The asset types the page documents: one of them (or none) is cached; several, or any other, pass through uncached. */
export const FRAMEIO_TYPES = ['file', 'folder', 'version_stack', 'bundle'] as const satisfies readonly Asset['type'][]
const VARIANTS = { original: 'original', thumbnail: 'thumb', preview: 'h264_720' } as const satisfies Record<string, keyof Asset>
const MEDIA_FIELDS = ['original', 'thumb', 'thumb_540', 'h264_360', 'h264_540', 'h264_720', 'h264_1080_best'] as const satisfies readonly (keyof Asset)[]

/**
 * True while Frame.io is still working on an asset, read from the fields it really sends: the upload
 * has not completed (`upload_completed_at: null`); or transcoding has not finished — no
 * `transcoded_at` yet on a file (`transcoded_at: null`), or a transcode the page's
 * `required_transcodes` object marks needed (`true`) is missing from its `finalized` list. A
 * `transcoded_at` timestamp settles it; an array `required_transcodes` (as real records carry) says
 * nothing about what is finished.
 */
function pending(record: unknown): boolean {
  if (!isObject(record)) return false
  if (record.upload_completed_at === null) return true
  if (typeof field<Asset>(record, 'transcoded_at') === 'string') return false
  const required = field<Asset>(record, 'required_transcodes')
  if (isObject(required) && Array.isArray(required.finalized)) {
    const finalized = new Set(required.finalized)
    if (Object.entries(required).some(([name, needed]) => needed === true && !finalized.has(name))) return true
  }
  const isFile = field<Asset>(record, 'type') === 'file' || field<Asset>(record, '_type') === 'file'
  return isFile && field<Asset>(record, 'transcoded_at') === null
}

/** Frame.io API v2: `GET /v2/assets/{asset_id}` with `include_deleted` and `type`, Bearer token. */
export const frameio: ProviderAdapter = {
  ...meta,
  route: '/frameio/v2/assets/:asset_id',
  webhook: frameioWebhook,

  queryParams: QUERY_PARAMS,
  requestIdHeaders: ['x-frameio-request-id'],

  parse(params, query) {
    onlyKnownQuery(query, QUERY_PARAMS)
    const asset_id = uuidParam('asset_id', params.asset_id)
    const includeDeleted = booleanQuery(query, 'include_deleted')
    // `type` is "string or Array of strings": given once or repeated (a comma is part of a value).
    const type = setQuery(query, 'type', FRAMEIO_TYPES, false)
    const canonical: Record<string, string> = {}
    if (includeDeleted !== undefined) canonical.include_deleted = String(includeDeleted)
    if (type !== undefined) canonical.type = type.canonical
    // At most one documented value is cached (1 + 4 type variants × 3 include_deleted states per asset).
    const several = type?.canonical.includes(',') ?? false
    const uncached =
      type?.unknown !== undefined || several ? { uncached: { param: 'type', value: type?.unknown ?? type?.canonical ?? '', allowed: FRAMEIO_TYPES } } : {}
    return { provider: 'frameio', ids: { asset_id }, query: canonical, cacheKey: cacheKeyOf('frameio', [asset_id], canonical), ...uncached }
  },

  call(key, deps) {
    const client = createClient<paths>({ baseUrl: deps.env.FRAMEIO_BASE_URL, fetch: deps.fetch })
    const query: { include_deleted?: boolean; type?: string | string[] } = {}
    if (key.query.include_deleted !== undefined) query.include_deleted = key.query.include_deleted === 'true'
    const types = key.query.type?.split(',')
    if (types !== undefined) query.type = types.length === 1 ? types[0] : types
    return client.GET('/v2/assets/{asset_id}', {
      params: { path: { asset_id: key.ids.asset_id ?? '' }, query },
      headers: { authorization: `Bearer ${deps.env.FRAMEIO_TOKEN ?? ''}` },
      parseAs: 'stream',
      signal: deps.signal,
    })
  },

  isRecord: (body) => isObject(body) && typeof body.id === 'string',

  facts(record) {
    const deleted = field<Asset>(record, 'deleted_at') != null || field<Asset>(record, 'hard_deleted_at') != null
    return {
      state: deleted ? 'deleted' : pending(record) ? 'processing' : 'ready',
      mediaUrls: urls(...MEDIA_FIELDS.map((f) => str<Asset>(record, f))),
    }
  },

  variants: VARIANTS,
  media(record, variant) {
    const name = own(VARIANTS, variant)
    return name && str<Asset>(record, name)
  },
}
