/** The providers asset-edge fronts; each is one spec in `openapi/` and one adapter file here. */
export type ProviderName = 'spotify' | 'sync' | 'gumnut' | 'frameio'

/** A validated, canonical lookup: equal lookups have equal `cacheKey`s. */
export type LookupKey = {
  provider: ProviderName
  /** Path ids exactly as the provider names them, e.g. `{ ad_account_id, asset_id }`. */
  ids: Readonly<Record<string, string>>
  /** Normalised query (sorted, de-duplicated), e.g. `{ include: 'faces,metadata' }`. */
  query: Readonly<Record<string, string>>
  /** `provider/id[/id]?query`, the one string every cache tier keys on. */
  cacheKey: string
}

/** What an adapter needs to call its provider: per request, injected by the services middleware. */
export type UpstreamDeps = {
  env: Env
  fetch: typeof fetch
  signal: AbortSignal
  kv: KVNamespace
}

/** The raw answer of one upstream call, as openapi-fetch returns it. */
export type UpstreamCall = {
  response: Response
  /** The success body stream (`parseAs: 'stream'`). */
  data?: ReadableStream<Uint8Array> | null | undefined
  /** The error body, parsed as JSON when it is JSON. */
  error?: unknown
}

/** Where an asset is in its provider's lifecycle, as far as caching and redirects care. */
export type AssetState = 'ready' | 'processing' | 'deleted' | 'failed'

/** What an adapter reads from a record for caching: its state and every media URL it holds. */
export type RecordFacts = { state: AssetState; mediaUrls: string[] }

/** Everything provider-specific, in one object per provider (see `src/providers/index.ts`). */
export interface ProviderAdapter {
  readonly name: ProviderName
  /** Hono path of the mirror route, the provider's own path under `/<name>`. */
  readonly route: string
  /** Query parameters the lookup accepts (any other is a 400). */
  readonly queryParams: readonly string[]
  /** Validates path params and query into a canonical key, or throws a 400/422 `ApiError`. */
  parse(params: Record<string, string>, query: URLSearchParams): LookupKey
  /** Makes the one upstream call for `key` through the typed openapi-fetch client. */
  call(key: LookupKey, deps: UpstreamDeps): Promise<UpstreamCall>
  /** True when a 2xx body has the shape the provider's spec promises. */
  isRecord(body: unknown): boolean
  /** True when an error answer means "no such asset" (beyond a plain 404). */
  isNotFound?(status: number, error: unknown): boolean
  /** The provider's trace id in an error body, if it gives one. */
  traceId?(error: unknown): string | undefined
  /** State and media URLs of a record, for freshness. */
  facts(record: unknown): RecordFacts
  /** Redirect variants this provider offers, name → which record field it maps to. */
  readonly variants: Readonly<Record<string, string>>
  /** The URL a variant of a record points at, if the record has it. */
  media(record: unknown, variant: string): string | undefined
  /** True for a provider with no asset events: pending assets are re-checked by the cron. */
  readonly recheckWhilePending?: boolean
  /** Query a lookup must carry for `media` to find `variant` (e.g. Gumnut's `include=variants`). */
  mediaQuery?(variant: string): Readonly<Record<string, string>>
}
