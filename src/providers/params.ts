import { ApiError, type ErrorCode } from '../http/errors'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
}

/** Checks a path id is a UUID (any case) and returns it lower-cased, so equal ids share one cache key. */
export function uuidParam(name: string, value: string | undefined): string {
  if (value === undefined || !UUID.test(value)) {
    throw new ApiError('invalid_id', `\`${name}\` must be a UUID, got ${describe(value ?? '')}.`, { extras: { param: name } })
  }
  return value.toLowerCase()
}

/** Checks a path id against a pattern of its own (prefix, charset, length). */
export function patternParam(name: string, value: string | undefined, pattern: RegExp, expected: string, code: ErrorCode = 'invalid_id'): string {
  if (value === undefined || !pattern.test(value)) {
    throw new ApiError(code, `\`${name}\` must be ${expected}, got ${describe(value ?? '')}.`, { extras: { param: name } })
  }
  return value
}

/** Reads an optional `true`/`false` query parameter; anything else is a 400. */
export function booleanQuery(query: URLSearchParams, name: string): boolean | undefined {
  const values = query.getAll(name)
  if (values.length === 0) return undefined
  const [value] = values
  if (values.length > 1 || (value !== 'true' && value !== 'false')) {
    throw new ApiError('invalid_query', `\`${name}\` must be \`true\` or \`false\`, given once.`, { extras: { param: name } })
  }
  return value === 'true'
}

/**
 * Reads a set-valued query parameter given repeated or comma separated, checks every member, and
 * returns the canonical form (sorted, de-duplicated, comma-joined). Unknown members are a 422
 * listing the allowed values, as Gumnut itself answers.
 */
export function setQuery(query: URLSearchParams, name: string, allowed: readonly string[]): string | undefined {
  const members = query
    .getAll(name)
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '')
  if (members.length === 0) return undefined
  const unknown = members.filter((m) => !allowed.includes(m))
  if (unknown.length > 0) {
    throw new ApiError('invalid_include', `Unknown \`${name}\` value ${describe(unknown[0] ?? '')}; allowed: ${allowed.join(', ')}.`, {
      extras: { param: name, allowed },
    })
  }
  return [...new Set(members)].sort().join(',')
}

/** Refuses query parameters the provider's spec does not declare, so typos don't pass silently. */
export function onlyKnownQuery(query: URLSearchParams, known: readonly string[]): void {
  if (query.size === 0) return // most lookups: no iterator to make
  for (const name of query.keys()) {
    if (!known.includes(name)) {
      throw new ApiError('unknown_query_parameter', `Unknown query parameter ${describe(name)}; allowed: ${known.join(', ') || 'none'}.`, {
        extras: { param: name, allowed: known },
      })
    }
  }
}

/** Builds the cache key string from provider, ids in order, and the canonical query. */
export function cacheKeyOf(provider: string, ids: readonly string[], query: Readonly<Record<string, string>>): string {
  const qs = Object.entries(query)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join('&')
  return `${provider}/${ids.join('/')}${qs ? `?${qs}` : ''}`
}
