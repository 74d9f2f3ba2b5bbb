import createClient from 'openapi-fetch'
import type { paths } from '../generated/sync'
import { cacheKeyOf, onlyKnownQuery, uuidParam } from './params'
import { isObject, own, str, urls } from './record'
import type { ProviderAdapter } from './types'

const QUERY_PARAMS: readonly string[] = []
const VARIANTS = { original: 'url', thumbnail: 'thumbnailUrl' } as const

/** Sync (sync.so): `GET /v2/assets/{id}`, `x-api-key`. */
export const sync: ProviderAdapter = {
  name: 'sync',
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
    state: str(record, 'url') ? 'ready' : 'processing',
    mediaUrls: urls(str(record, 'url'), str(record, 'thumbnailUrl')),
  }),

  variants: VARIANTS,
  media: (record, variant) => str(record, own(VARIANTS, variant) ?? ''),
}
