import type { CacheEntry } from '../cache/entry'
import type { CacheOutcome, Forward, Served, Timings } from '../cache/tiered-cache'

const NAME = 'asset-edge'

/** How an attempt ended, for `Cache-Status`: how it was served, or why it was not. */
export type Attempt = Served | { kind: 'not-cached' } | { kind: 'failed'; fwd: Forward; status: number }

/** Whole seconds an entry stays fresh after `now`. */
export function freshForS(entry: CacheEntry, now: number): number {
  return Math.max(0, Math.floor((entry.freshUntil - now) / 1000))
}

/** The RFC 9211 `Cache-Status` of an attempt (`entry` gives a hit its `ttl`). */
export function cacheStatusOf(attempt: Attempt, entry?: CacheEntry, now = Date.now()): string {
  switch (attempt.kind) {
    case 'hit':
      return `${NAME}; hit; detail=${attempt.tier}${entry ? `; ttl=${freshForS(entry, now)}` : ''}`
    case 'fetched':
      return `${NAME}; fwd=${attempt.fwd}; stored`
    case 'revalidating':
      return `${NAME}; fwd=stale; detail=revalidating`
    case 'stale-if-error':
      return `${NAME}; fwd=${attempt.fwd}; fwd-status=${attempt.status}; detail=stale-if-error`
    case 'failed':
      return `${NAME}; fwd=${attempt.fwd}; fwd-status=${attempt.status}`
    case 'uncached':
      return `${NAME}; fwd=bypass; detail=uncached-query`
    case 'not-cached':
      return `${NAME}; fwd=miss; detail=only-if-cached`
  }
}

const MEMORY_TIMING = 'memory;dur=0'

/** `Server-Timing`: milliseconds in each tier and upstream, and how the provider gate took part (`gate;desc="fallback"`). */
export function serverTiming(timings: Timings, gate?: string): string {
  if (timings.memory === 0 && Object.keys(timings).length === 1 && !gate) return MEMORY_TIMING
  const parts = Object.entries(timings).map(([name, ms]) => `${name};dur=${(ms ?? 0).toFixed(1)}`)
  if (gate) parts.push(`gate;desc="${gate}"`)
  return parts.join(', ')
}

const CONTENT_TYPE = 'application/json; charset=utf-8'
const MEMORY_HIT_STATUS = `${NAME}; hit; detail=memory; ttl=`

/**
 * The headers every answer from the cache carries: ETag, Cache-Status, Age, Cache-Control,
 * Server-Timing (and Content-Type when `body`), as one plain object for `new Response`: a memory
 * hit formats only its ttl, Age and max-age.
 */
export function cacheHeaders(outcome: CacheOutcome, now: number, body = false): Record<string, string> {
  const { entry, served } = outcome
  const freshS = freshForS(entry, now)
  const memory = served.kind === 'hit' && served.tier === 'memory'
  const headers: Record<string, string> = {
    ...outcome.headers,
    etag: entry.etag,
    'cache-status': memory ? MEMORY_HIT_STATUS + freshS : cacheStatusOf(served, entry, now),
    age: String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))),
    'cache-control': served.kind === 'uncached' ? 'private, no-cache' : `private, max-age=${freshS}`,
    'server-timing': memory && outcome.timings.memory === 0 && !outcome.gate ? MEMORY_TIMING : serverTiming(outcome.timings, outcome.gate),
  }
  if (body) headers['content-type'] = entry.contentType ?? CONTENT_TYPE
  return headers
}

/**
 * The answer for a cached record: its body as the provider sent it (or a 304 when `If-None-Match`
 * names its ETag), with the cache's headers, `extra` and `requestId` (the hit path's security
 * headers and request id, which the full path's middleware sets).
 */
export function assetResponse(
  outcome: CacheOutcome,
  ifNoneMatch: string | null | undefined,
  now: number,
  extra?: Readonly<Record<string, string>>,
  requestId?: string,
): Response {
  const notModified = matchesEtag(ifNoneMatch, outcome.entry.etag)
  const headers = cacheHeaders(outcome, now, !notModified)
  if (extra) Object.assign(headers, extra)
  if (requestId) headers['x-request-id'] = requestId
  return notModified ? new Response(null, { status: 304, headers }) : new Response(outcome.entry.body, { status: 200, headers })
}

/** True when `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header). */
export function matchesEtag(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
