import createClient from 'openapi-fetch'
import type { components, paths } from '../../generated/sync'
import { cacheKeyOf, onlyKnownQuery, uuidParam } from '../params'
import { isObject, own, str, urls } from '../record'
import type { ProviderAdapter } from '../types'
import { meta } from './meta.ts'

type Asset = components['schemas']['Asset']

const QUERY_PARAMS: readonly string[] = []
const VARIANTS = { original: 'url', thumbnail: 'thumbnailUrl' } as const satisfies Record<string, keyof Asset>

/** Sync (sync.so): `GET /v2/assets/{id}`, `x-api-key`. */
export const sync: ProviderAdapter = {
  ...meta,
  route: '/sync/v2/assets/:id',
  queryParams: QUERY_PARAMS,

  parse(params, query) {
    onlyKnownQuery(query, QUERY_PARAMS)
    const id = uuidParam('id', params.id)
    return { provider: 'sync', ids: { id }, query: {}, cacheKey: cacheKeyOf('sync', [id], {}) }
  },

  call(key, deps) {
    const client = createClient<paths>({ baseUrl: deps.env.SYNC_BASE_URL, fetch: deps.fetch })
    return client.GET('/v2/assets/{id}', {
      params: { path: { id: key.ids.id ?? '' } },
      headers: { 'x-api-key': deps.env.SYNC_API_KEY ?? '' },
      parseAs: 'stream',
      signal: deps.signal,
    })
  },

  isRecord: (body) => isObject(body) && typeof body.id === 'string' && typeof body.type === 'string',

  // Sync has no processing states for assets; one without its media URL yet is not ready.
  facts: (record) => ({
    state: str<Asset>(record, 'url') ? 'ready' : 'processing',
    mediaUrls: urls(str<Asset>(record, 'url'), str<Asset>(record, 'thumbnailUrl')),
  }),

  variants: VARIANTS,
  media: (record, variant) => {
    const field = own(VARIANTS, variant)
    return field && str<Asset>(record, field)
  },
}
