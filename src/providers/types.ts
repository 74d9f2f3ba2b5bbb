import type { GateSession } from '../coordinator/session'
import type { IsolateState } from '../isolate-state'

/** A validated, canonical lookup: equal lookups have equal `cacheKey`s. */
export type LookupKey = {
  provider: string
  /** Path ids exactly as the provider names them, e.g. `{ ad_account_id, asset_id }`. */
  ids: Readonly<Record<string, string>>
  /** Normalised query (sorted, de-duplicated), e.g. `{ include: 'faces,metadata' }`. */
  query: Readonly<Record<string, string>>
  /** `provider/id[/id]?query`, the one string every cache tier keys on. */
  cacheKey: string
  /**
   * Set when the query holds a value outside the provider's documented set: the value is passed
   * through to the provider, but the lookup skips every cache tier and coalescing, so invented
   * values cannot multiply cache entries, KV writes or shared calls.
   */
  uncached?: { param: string; value: string; allowed: readonly string[] }
}

/** What an adapter needs to call its provider: per request, injected by the services middleware. */
export type UpstreamDeps = {
  env: Env
  fetch: typeof fetch
  signal: AbortSignal
  kv: KVNamespace
  /** This isolate's state, for what a provider keeps between calls (an access token). */
  isolate: IsolateState
  /** The provider account's gate for this load (rate budget, shared token), when it has one. */
  gate?: GateSession | undefined
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

/** What an event means for the cache: drop the asset, drop and re-fetch it, or record it gone. */
export type EventEffect = 'invalidate' | 'rewarm' | 'deleted'

/** A provider's event reduced to what the cache needs: which asset (its route's path ids) and the effect. */
export type ProviderEvent = { ids: Record<string, string>; effect: EventEffect; type: string }

/**
 * A provider that pushes signed webhooks. `verify` authenticates a delivery (a 401 `ApiError`
 * otherwise) and returns its replay key; `events` reads what it says.
 */
export interface WebhookSource {
  /** Largest body accepted, bytes. */
  readonly maxBodyBytes: number
  /** How long a delivery's replay key is remembered, seconds. */
  readonly replayWindowS: number
  /** Throws 401 unless the headers carry a well-formed signature: checked before the body is read. */
  precheck(headers: Headers, now: number): void
  verify(headers: Headers, rawBody: ArrayBuffer, env: Env, now: number): Promise<{ replayKey: string }>
  /** The events of a verified delivery (a 400 `ApiError` when it is malformed); none for ignored types. */
  events(body: unknown): ProviderEvent[]
}

/** What a feed poll needs: the upstream access and a way to apply each event. */
export type FeedContext = {
  upstream: Omit<UpstreamDeps, 'signal'>
  timeoutMs: number
  apply(event: ProviderEvent): Promise<void>
}

/** A provider whose changes are read from a feed by the Cron Trigger. */
export interface FeedSource {
  poll(context: FeedContext): Promise<Record<string, number>>
}

/** The facts of a provider that scripts read too (no code): `meta.ts` in its folder. */
export type ProviderMeta = {
  /** Lower-case name: the mirror route's first segment and the suffix of its vars. */
  readonly name: string
  readonly title: string
  /** Secrets the adapter reads; all set means the real provider is used in dev. */
  readonly secrets: readonly string[]
  /** Optional secrets of its freshness source (webhook signing secrets); redacted like the others. */
  readonly optionalSecrets?: readonly string[]
  /** The path parameter that names the asset (what `npm run link -- --id` fills). */
  readonly assetIdParam: string
  /** The secret that names the provider account: its hash names the account's gate (docs/coordination.md). */
  readonly accountSecret?: string
  /** Access tokens are minted with OAuth for the whole account: one mint at a time, through the gate. */
  readonly oauth?: boolean
  readonly defaults: {
    /** Lifetime assumed for a media URL whose expiry is not visible in it, seconds. */
    readonly assumedMediaLifetimeS: number
    /** Calls a second the provider allows one account, if it says. */
    readonly maxRps?: number
    /** Hosts its media URLs live on (the default link allow-list); empty: any https host. */
    readonly mediaHosts?: readonly string[]
  }
}

/** Everything provider-specific, in one object per provider (see `src/providers/index.ts`). */
export interface ProviderAdapter extends ProviderMeta {
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
  /** Response headers (lower case) in which the provider names its request id: passed through to the client. */
  readonly requestIdHeaders?: readonly string[]
  /** The provider's trace id in an error body, if it gives one. */
  traceId?(error: unknown): string | undefined
  /** State and media URLs of a record, for freshness. */
  facts(record: unknown): RecordFacts
  /** Redirect variants this provider offers, name → which record field it maps to. */
  readonly variants: Readonly<Record<string, string>>
  /** The URL a variant of a record points at, if the record has it. */
  media(record: unknown, variant: string): string | undefined
  /** Query a lookup must carry for `media` to find `variant` (e.g. Gumnut's `include=variants`). */
  mediaQuery?(variant: string): Readonly<Record<string, string>>
  /** Query parameters of its media URLs that are credentials, for log redaction. */
  readonly secretUrlParams?: readonly string[]
  /** True for a provider with no asset events: pending assets are re-checked by the cron. */
  readonly recheckWhilePending?: boolean
  /** Signed webhooks, served at `POST /webhooks/<name>`. */
  readonly webhook?: WebhookSource
  /** An event feed, read by the Cron Trigger. */
  readonly feed?: FeedSource
}

/** The providers one gateway serves, by name. */
export type ProviderRegistry = {
  readonly list: readonly ProviderAdapter[]
  get(name: string): ProviderAdapter | undefined
}

/** A registry over `adapters` (names must be unique, lower-case letters and digits). */
export function providerRegistry(adapters: readonly ProviderAdapter[]): ProviderRegistry {
  const byName = new Map<string, ProviderAdapter>()
  for (const adapter of adapters) {
    if (!/^[a-z][a-z0-9]{0,31}$/.test(adapter.name)) throw new TypeError(`provider name ${JSON.stringify(adapter.name)} must be lower-case letters and digits`)
    if (byName.has(adapter.name)) throw new TypeError(`provider ${adapter.name} is listed twice`)
    byName.set(adapter.name, adapter)
  }
  return { list: adapters, get: (name) => byName.get(name) }
}
