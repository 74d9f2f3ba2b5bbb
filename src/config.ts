/**
 * Every setting the gateway reads from its vars (see wrangler.toml), parsed once per env object.
 * One meaning throughout: unset or empty is the default, "0" is zero (off, where a setting can be
 * off; its minimum otherwise), and a malformed value is the default.
 */

/** What the config needs to know of a provider: its name and its defaults. */
export type ProviderDefaults = {
  readonly name: string
  /** Tokens are minted for the whole account (through the gate when there is one). */
  readonly oauth?: boolean
  /** Secrets the provider needs: all set (non-empty) means it is configured. */
  readonly secrets: readonly string[]
  readonly defaults: { readonly assumedMediaLifetimeS: number; readonly maxRps?: number; readonly mediaHosts?: readonly string[] }
}

export type ProviderSettings = {
  /** Calls a second the account makes to the provider at most (each isolate, without a gate); 0: unpaced. */
  maxRps: number
  /** Concurrent cold misses of one key in all isolates make one upstream call (through the gate). */
  singleFlight: boolean
  /** The provider needs its account's gate: a rate limit, an OAuth token or single flight. */
  coordinated: boolean
  /** Lifetime assumed for a media URL whose expiry is not visible in it, seconds. */
  assumedMediaLifetimeS: number
  /** Hosts its links may redirect to (`*.suffix` for subdomains); empty: any https host. */
  allowedHosts: readonly string[]
  /** Every one of its secrets is set: otherwise its lookups answer 503 provider_not_configured. */
  configured: boolean
}

export type Config = {
  upstreamTimeoutMs: number
  upstreamMaxBytes: number
  keyCacheTtlS: number
  /** Deadline for one short call to the provider gate, ms. */
  gateTimeoutMs: number
  memory: { maxEntries: number; maxBytes: number; ttlS: number }
  tierTimeoutMs: number
  cache: {
    freshReadyS: number
    freshPendingS: number
    staleWhileRevalidateS: number
    staleIfErrorS: number
    notFoundS: number
    edgeMaxS: number
    mediaMinValidityS: number
  }
  links: {
    defaultTtlS: number
    maxTtlS: number
    skewS: number
    signingKeyId: string
    signingKeys: string
    /** `PUBLIC_ORIGIN`: the origin minted links name (`https://host[:port]`); empty when unset or not an http(s) origin. */
    publicOrigin: string
  }
  log: { batchLines: number; flushMs: number }
  purge: { zoneId: string; apiToken: string }
  provider(name: string): ProviderSettings
}

type Vars = Readonly<Record<string, unknown>>

/** A whole number from a var: the default when unset, empty or malformed; never below `min`. */
export function wholeNumber(vars: Vars, name: string, fallback: number, min = 0): number {
  const raw = vars[name]
  if (typeof raw !== 'string' || raw.trim() === '') return fallback
  const n = Number(raw)
  if (!Number.isSafeInteger(n) || n < 0) return fallback
  return Math.max(min, n)
}

/** "1"/"0" from a var; the default when unset, empty or anything else. */
function flag(vars: Vars, name: string, fallback: boolean): boolean {
  const raw = vars[name]
  return raw === '1' ? true : raw === '0' ? false : fallback
}

function text(vars: Vars, name: string): string {
  const raw = vars[name]
  return typeof raw === 'string' ? raw : ''
}

/** The origin of an http(s) URL, or empty. */
function origin(raw: string): string {
  try {
    const url = new URL(raw.trim())
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : ''
  } catch {
    return ''
  }
}

function hostList(raw: string): string[] {
  return raw
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '')
}

function readConfig(vars: Vars, providers: readonly ProviderDefaults[]): Config {
  const maxTtlS = wholeNumber(vars, 'LINK_MAX_TTL_S', 3600, 1)
  const perProvider = new Map<string, ProviderSettings>()
  for (const { name, secrets, defaults, oauth = false } of providers) {
    const suffix = name.toUpperCase()
    const hosts = vars[`LINK_ALLOWED_HOSTS_${suffix}`]
    const maxRps = wholeNumber(vars, `UPSTREAM_MAX_RPS_${suffix}`, defaults.maxRps ?? 0)
    const singleFlight = flag(vars, `UPSTREAM_SINGLE_FLIGHT_${suffix}`, maxRps > 0 || oauth)
    perProvider.set(name, {
      maxRps,
      singleFlight,
      coordinated: maxRps > 0 || oauth || singleFlight,
      assumedMediaLifetimeS: wholeNumber(vars, `MEDIA_ASSUMED_LIFETIME_S_${suffix}`, defaults.assumedMediaLifetimeS),
      allowedHosts: typeof hosts === 'string' && hosts.trim() !== '' ? hostList(hosts) : (defaults.mediaHosts ?? []),
      configured: secrets.every((secret) => text(vars, secret) !== ''),
    })
  }
  const unknownProvider: ProviderSettings = {
    maxRps: 0,
    singleFlight: false,
    coordinated: false,
    assumedMediaLifetimeS: 0,
    allowedHosts: [],
    configured: false,
  }
  return {
    upstreamTimeoutMs: wholeNumber(vars, 'UPSTREAM_TIMEOUT_MS', 5000, 1),
    upstreamMaxBytes: wholeNumber(vars, 'UPSTREAM_MAX_BYTES', 1024 * 1024, 1),
    keyCacheTtlS: wholeNumber(vars, 'KEY_CACHE_TTL_S', 30),
    gateTimeoutMs: wholeNumber(vars, 'GATE_TIMEOUT_MS', 250, 1),
    memory: {
      maxEntries: wholeNumber(vars, 'MEMORY_CACHE_MAX_ENTRIES', 5000),
      maxBytes: wholeNumber(vars, 'MEMORY_CACHE_MAX_BYTES', 32 * 1024 * 1024, 1),
      ttlS: wholeNumber(vars, 'MEMORY_TTL_S', 5),
    },
    tierTimeoutMs: wholeNumber(vars, 'CACHE_TIER_TIMEOUT_MS', 300, 1),
    cache: {
      freshReadyS: wholeNumber(vars, 'CACHE_FRESH_READY_S', 300),
      freshPendingS: wholeNumber(vars, 'CACHE_FRESH_PENDING_S', 5),
      staleWhileRevalidateS: wholeNumber(vars, 'CACHE_STALE_WHILE_REVALIDATE_S', 3600),
      staleIfErrorS: wholeNumber(vars, 'CACHE_STALE_IF_ERROR_S', 86_400),
      notFoundS: wholeNumber(vars, 'CACHE_NOT_FOUND_S', 30),
      edgeMaxS: wholeNumber(vars, 'CACHE_EDGE_MAX_S', 60),
      mediaMinValidityS: wholeNumber(vars, 'MEDIA_URL_MIN_VALIDITY_S', 60),
    },
    links: {
      maxTtlS,
      defaultTtlS: Math.min(wholeNumber(vars, 'LINK_DEFAULT_TTL_S', 300, 1), maxTtlS),
      skewS: wholeNumber(vars, 'LINK_CLOCK_SKEW_S', 30),
      signingKeyId: text(vars, 'LINK_SIGNING_KEY_ID'),
      signingKeys: text(vars, 'LINK_SIGNING_KEYS'),
      publicOrigin: origin(text(vars, 'PUBLIC_ORIGIN')),
    },
    log: { batchLines: wholeNumber(vars, 'LOG_BATCH_LINES', 1000, 1), flushMs: wholeNumber(vars, 'LOG_FLUSH_MS', 1000) },
    purge: { zoneId: text(vars, 'CF_ZONE_ID'), apiToken: text(vars, 'CF_API_TOKEN') },
    provider: (name) => perProvider.get(name) ?? unknownProvider,
  }
}

/** A reader of `Config` for one provider list, memoised per env object (the hot path parses nothing). */
export function configReader(providers: readonly ProviderDefaults[]): (env: object) => Config {
  const memo = new WeakMap<object, Config>()
  return (env) => {
    let config = memo.get(env)
    if (!config) {
      config = readConfig(env as Vars, providers)
      memo.set(env, config)
    }
    return config
  }
}
