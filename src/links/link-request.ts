import type { Config } from '../config'
import { ApiError } from '../http/errors'
import { isObject } from '../providers/record'
import type { LookupKey, ProviderAdapter, ProviderRegistry } from '../providers/types'

type LinkSettings = Config['links']

/** A validated mint request: the lookup a link stands for, the variant and the lifetime. */
export type LinkRequest = { key: LookupKey; variant: string; ttlS: number }

/** Fields of a mint body that are not lookup parameters. */
const LINK_FIELDS = ['provider', 'variant', 'ttl_s']

/** Path parameter names of a mirror route, e.g. `ad_account_id`, `asset_id`. */
function routeParams(route: string): string[] {
  return [...route.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1] ?? '')
}

/** The adapter a mint body names in `provider`, or a 422 listing the providers. */
export function linkAdapter(providers: ProviderRegistry, body: unknown): ProviderAdapter {
  if (!isObject(body)) throw new ApiError('invalid_body', 'Send a JSON object.')
  const { provider } = body
  const adapter = typeof provider === 'string' ? providers.get(provider) : undefined
  if (!adapter) {
    const allowed = providers.list.map((p) => p.name)
    throw new ApiError('unknown_provider', `\`provider\` must be one of ${allowed.join(', ')}.`, { extras: { param: 'provider', allowed } })
  }
  return adapter
}

/** A body field as query values: JSON strings, numbers and booleans as text, arrays member by member. */
function queryValues(name: string, value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return [String(value)]
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value
  throw new ApiError('invalid_query', `\`${name}\` must be a string, a boolean or an array of strings.`, { extras: { param: name } })
}

function ttlOf(value: unknown, settings: Pick<LinkSettings, 'defaultTtlS' | 'maxTtlS'>): number {
  if (value === undefined || value === null) return settings.defaultTtlS
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= settings.maxTtlS) return value
  throw new ApiError('invalid_ttl', `\`ttl_s\` must be a whole number of seconds from 1 to ${settings.maxTtlS}.`, {
    extras: { param: 'ttl_s', max_ttl_s: settings.maxTtlS },
  })
}

/**
 * Validates a mint body for `adapter`: its lookup ids and query through the adapter's own `parse`
 * (so a link accepts exactly what the lookup route accepts, and keys the same cache entry), plus
 * whatever query the variant needs (`mediaQuery`), the variant and the lifetime.
 */
export function parseLinkRequest(adapter: ProviderAdapter, body: Record<string, unknown>, settings: LinkSettings): LinkRequest {
  const { variant } = body
  if (typeof variant !== 'string' || !Object.hasOwn(adapter.variants, variant)) {
    const allowed = Object.keys(adapter.variants)
    throw new ApiError('unknown_variant', `\`variant\` must be one of ${allowed.join(', ')} for ${adapter.name}.`, {
      extras: { param: 'variant', allowed },
    })
  }
  const ttlS = ttlOf(body.ttl_s, settings)

  const idNames = routeParams(adapter.route)
  const ids: Record<string, string> = {}
  const query = new URLSearchParams()
  const known = [...LINK_FIELDS, ...idNames, ...adapter.queryParams]
  for (const name of Object.keys(body)) {
    if (!known.includes(name)) {
      throw new ApiError('unknown_field', `Unknown field ${JSON.stringify(name.slice(0, 80))}; allowed: ${known.join(', ')}.`, {
        extras: { param: name.slice(0, 80), allowed: known },
      })
    }
  }
  for (const [name, value] of Object.entries(body)) {
    if (LINK_FIELDS.includes(name) || value === null || value === undefined) continue
    if (idNames.includes(name)) {
      if (typeof value !== 'string') throw new ApiError('invalid_id', `\`${name}\` must be a string.`, { extras: { param: name } })
      ids[name] = value
      continue
    }
    for (const v of queryValues(name, value)) query.append(name, v)
  }
  for (const [name, value] of Object.entries(adapter.mediaQuery?.(variant) ?? {})) query.append(name, value)

  try {
    return { key: adapter.parse(ids, query), variant, ttlS }
  } catch (err) {
    // The adapter speaks of query parameters; in a mint body they are fields beside the ids.
    if (err instanceof ApiError && err.code === 'unknown_query_parameter') {
      const allowed = [...LINK_FIELDS, ...idNames, ...(Array.isArray(err.extras.allowed) ? err.extras.allowed : [])]
      const param = String(err.extras.param)
      throw new ApiError('unknown_field', `Unknown field ${JSON.stringify(param)}; allowed: ${allowed.join(', ')}.`, { extras: { param, allowed } })
    }
    throw err
  }
}
