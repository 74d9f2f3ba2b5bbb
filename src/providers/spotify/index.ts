import createClient from 'openapi-fetch'
import type { components, paths } from '../../generated/spotify-ads'
import { cacheKeyOf, onlyKnownQuery, uuidParam } from '../params'
import { isObject, own, str, urls } from '../record'
import type { AssetState, ProviderAdapter } from '../types'
import { meta } from './meta.ts'
import { accessToken, forgetAccessToken } from './token'

type Schemas = components['schemas']
/** Every field any asset type declares. */
type Fields = Schemas['ImageAsset'] & Schemas['AudioAsset'] & Schemas['VideoAsset']

const QUERY_PARAMS: readonly string[] = []
const STATES: Record<Schemas['AssetStatus'], AssetState> = {
  READY: 'ready',
  PROCESSING: 'processing',
  WAITING_UPLOAD: 'processing',
  ERROR: 'failed',
}

const VARIANTS = { original: 'url', thumbnail: 'thumbnail_url' } as const satisfies Record<string, keyof Fields>

/** Spotify Ads API (Ad Studio): `GET /ad_accounts/{ad_account_id}/assets/{asset_id}`, OAuth bearer. */
export const spotify: ProviderAdapter = {
  ...meta,
  route: '/spotify/ad_accounts/:ad_account_id/assets/:asset_id',
  // Spotify has no events: a lookup that sees PROCESSING asks the cron to look again.
  recheckWhilePending: true,
  queryParams: QUERY_PARAMS,

  parse(params, query) {
    onlyKnownQuery(query, QUERY_PARAMS)
    const ad_account_id = uuidParam('ad_account_id', params.ad_account_id)
    const asset_id = uuidParam('asset_id', params.asset_id)
    return { provider: 'spotify', ids: { ad_account_id, asset_id }, query: {}, cacheKey: cacheKeyOf('spotify', [ad_account_id, asset_id], {}) }
  },

  // A refused access token may only be stale (revoked, or minted elsewhere before a rotation): the
  // gateway forgets it and tries once more with a fresh one, so a 401 that reaches the client (with
  // `x-should-retry: false`) is one no retry of the client's could cure.
  async call(key, deps) {
    const client = createClient<paths>({ baseUrl: deps.env.SPOTIFY_BASE_URL, fetch: deps.fetch })
    const get = async () =>
      client.GET('/ad_accounts/{ad_account_id}/assets/{asset_id}', {
        params: { path: { ad_account_id: key.ids.ad_account_id ?? '', asset_id: key.ids.asset_id ?? '' } },
        headers: { authorization: `Bearer ${await accessToken(deps)}` },
        parseAs: 'stream',
        signal: deps.signal,
      })
    const first = await get()
    if (first.response.status !== 401) return first
    await forgetAccessToken(deps)
    const second = await get()
    if (second.response.status === 401) await forgetAccessToken(deps)
    return second
  },

  isRecord: (body) => isObject(body) && typeof body.id === 'string' && typeof body.status === 'string',

  // Spotify may answer an unknown (or foreign) asset with 400; only its body tells.
  isNotFound(status, error) {
    if (status !== 400 || !isObject(error)) return false
    return /not[ _-]?found|does not exist|unknown asset/i.test(JSON.stringify([error.messages, error.error_codes]))
  },

  traceId: (error) => str<Schemas['Error']>(error, 'sp_trace_id'),

  facts: (record) => ({
    state: own(STATES, str<Fields>(record, 'status') ?? '') ?? 'processing',
    mediaUrls: urls(str<Fields>(record, 'url'), str<Fields>(record, 'thumbnail_url')),
  }),

  variants: VARIANTS,
  media(record, variant) {
    const field = own(VARIANTS, variant)
    return field && str<Fields>(record, field)
  },
}
