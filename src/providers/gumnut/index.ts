import createClient from 'openapi-fetch'
import type { components, paths } from '../../generated/gumnut'
import { cacheKeyOf, onlyKnownQuery, patternParam, setQuery } from '../params'
import { field, isObject, str, urls } from '../record'
import type { ProviderAdapter } from '../types'
import { gumnutFeed } from './feed'
import { meta } from './meta.ts'

type Schemas = components['schemas']

const QUERY_PARAMS: readonly string[] = ['include']
/** Gumnut's documented `include` values; any other is passed through to Gumnut (which judges it), uncached. */
export const GUMNUT_INCLUDES = ['metadata', 'faces', 'people', 'metrics', 'file_data', 'variants'] as const satisfies readonly Schemas['IncludeValue'][]
const ASSET_ID = /^asset_[A-Za-z0-9_-]{1,64}$/

/** Redirect variants: `asset_urls` rungs; for a video the still's rung (`thumbnail_image`, …) stands in. */
const VARIANTS = {
  original: 'asset_urls.original',
  thumbnail: 'asset_urls.thumbnail (video: thumbnail_image)',
  small: 'asset_urls.small (video: small_image); needs include=variants',
  preview: 'asset_urls.preview (video: preview_image); needs include=variants',
  fullsize: 'asset_urls.fullsize (video: fullsize_image); needs include=variants',
} as const

/** A rung of `asset_urls`: an object `{ mimetype, url, width }`, or a bare URL string. */
function rungUrl(rung: unknown): string | undefined {
  if (typeof rung === 'string') return rung
  return str<Schemas['AssetUrl']>(rung, 'url')
}

function assetUrls(record: unknown): Record<string, unknown> {
  const rungs = field<Schemas['Asset']>(record, 'asset_urls')
  return isObject(rungs) ? rungs : {}
}

/** Gumnut photo library: `GET /api/assets/{asset_id}` with `include`, Bearer API key. */
export const gumnut: ProviderAdapter = {
  ...meta,
  route: '/gumnut/api/assets/:asset_id',
  feed: gumnutFeed,
  // Gumnut's signed CDN URLs carry their credential in `verify` and `dl`.
  secretUrlParams: ['verify', 'dl'],

  queryParams: QUERY_PARAMS,

  parse(params, query) {
    onlyKnownQuery(query, QUERY_PARAMS)
    const asset_id = patternParam('asset_id', params.asset_id, ASSET_ID, '`asset_` followed by 1-64 letters, digits, `_` or `-`')
    const include = setQuery(query, 'include', GUMNUT_INCLUDES)
    const canonical: Record<string, string> = include ? { include: include.canonical } : {}
    const uncached = include?.unknown === undefined ? {} : { uncached: { param: 'include', value: include.unknown, allowed: GUMNUT_INCLUDES } }
    return { provider: 'gumnut', ids: { asset_id }, query: canonical, cacheKey: cacheKeyOf('gumnut', [asset_id], canonical), ...uncached }
  },

  call(key, deps) {
    const client = createClient<paths>({ baseUrl: deps.env.GUMNUT_BASE_URL, fetch: deps.fetch })
    const include = key.query.include?.split(',')
    return client.GET('/api/assets/{asset_id}', {
      params: { path: { asset_id: key.ids.asset_id ?? '' }, query: include ? { include } : {} },
      headers: { authorization: `Bearer ${deps.env.GUMNUT_API_KEY ?? ''}` },
      parseAs: 'stream',
      signal: deps.signal,
    })
  },

  isRecord: (body) => isObject(body) && typeof body.id === 'string' && body.id.startsWith('asset_'),

  // Derived fields (thumbhash, the thumbnail rung) arrive after upload; until then the asset is not ready.
  facts(record) {
    const rungs = assetUrls(record)
    const trashed = field<Schemas['Asset']>(record, 'trashed_at') != null
    const derived = field<Schemas['Asset']>(record, 'thumbhash') != null && Object.keys(rungs).length > 0
    return {
      state: trashed ? 'deleted' : derived ? 'ready' : 'processing',
      mediaUrls: urls(...Object.values(rungs).map(rungUrl)),
    }
  },

  variants: VARIANTS,
  media(record, variant) {
    if (!Object.hasOwn(VARIANTS, variant)) return undefined
    const rungs = assetUrls(record)
    return rungUrl(rungs[variant]) ?? (variant === 'original' ? undefined : rungUrl(rungs[`${variant}_image`]))
  },
  // Without include=variants, asset_urls carries only the lean thumbnail rung.
  mediaQuery: (variant): Record<string, string> => (variant === 'thumbnail' ? {} : { include: 'variants' }),
}
