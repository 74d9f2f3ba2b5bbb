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

/** A set-valued query parameter read: its canonical form, and the first member outside the documented set. */
export type SetQuery = { canonical: string; unknown: string | undefined }

/** Largest number of members a set-valued query parameter may have (repeats included). */
export const MAX_SET_MEMBERS = 16
/** What a member of a set-valued query parameter may look like: a word, never control characters or separators. */
const MEMBER = /^[A-Za-z0-9_.:-]{1,64}$/

/**
 * Reads a set-valued query parameter given repeated (and, with `commas`, comma separated), checks
 * every member is well formed (a 400 otherwise, before any upstream call), and returns the
 * canonical form (sorted, de-duplicated, comma-joined) and the first member outside `allowed`, if
 * any: such a value is the provider's to judge, so it is passed through, uncached.
 */
export function setQuery(query: URLSearchParams, name: string, allowed: readonly string[], commas = true): SetQuery | undefined {
  const given = query.getAll(name)
  // A comma list may hold empty items (`a,,b`); a repeated parameter given empty (`type=`) is malformed.
  const members = commas
    ? given
        .flatMap((v) => v.split(','))
        .map((v) => v.trim())
        .filter((v) => v !== '')
    : given
  if (members.length === 0) return undefined
  if (members.length > MAX_SET_MEMBERS) {
    throw new ApiError('invalid_query', `\`${name}\` takes at most ${MAX_SET_MEMBERS} values.`, { extras: { param: name } })
  }
  for (const member of members) {
    if (!MEMBER.test(member)) {
      throw new ApiError('invalid_query', `\`${name}\` values are 1-64 letters, digits, \`_\`, \`.\`, \`:\` or \`-\`, got ${describe(member)}.`, {
        extras: { param: name },
      })
    }
  }
  return { canonical: [...new Set(members)].sort().join(','), unknown: members.find((m) => !allowed.includes(m)) }
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
