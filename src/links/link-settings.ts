/** Link lifetimes and the clock-skew allowance, from the Worker's vars (see wrangler.toml). */
export type LinkSettings = {
  /** Lifetime of a link minted without `ttl_s`, seconds. */
  defaultTtlS: number
  /** Longest lifetime a caller may ask for, seconds. */
  maxTtlS: number
  /** How long past its expiry a link is still honoured, seconds, for clocks that disagree. */
  skewS: number
}

const DEFAULT_TTL_S = 300 // seconds
const MAX_TTL_S = 3600 // seconds
const CLOCK_SKEW_S = 30 // seconds

function wholeNumber(value: string | undefined, fallback: number, min: number): number {
  const n = Number(value)
  return value !== undefined && value.trim() !== '' && Number.isSafeInteger(n) && n >= min ? n : fallback
}

/** The link settings of `env`, each falling back to its default when absent or malformed. */
export function linkSettings(env: Pick<Env, 'LINK_DEFAULT_TTL_S' | 'LINK_MAX_TTL_S' | 'LINK_CLOCK_SKEW_S'>): LinkSettings {
  const maxTtlS = wholeNumber(env.LINK_MAX_TTL_S, MAX_TTL_S, 1)
  return {
    maxTtlS,
    defaultTtlS: Math.min(wholeNumber(env.LINK_DEFAULT_TTL_S, DEFAULT_TTL_S, 1), maxTtlS),
    skewS: wholeNumber(env.LINK_CLOCK_SKEW_S, CLOCK_SKEW_S, 0),
  }
}

/**
 * Hosts a provider's links may redirect to, from `LINK_ALLOWED_HOSTS_<PROVIDER>` (comma separated,
 * `*.example.com` for subdomains). Empty or unset means any host. Read by name so that a fifth
 * provider needs no change here.
 */
export function allowedHosts(env: Env, provider: string): string[] {
  const value: unknown = Reflect.get(env, `LINK_ALLOWED_HOSTS_${provider.toUpperCase()}`)
  if (typeof value !== 'string') return []
  return value
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '')
}
