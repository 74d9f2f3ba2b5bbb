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

/** `Server-Timing`: milliseconds in each tier and upstream. */
export function serverTiming(timings: Timings): string {
  if (timings.memory === 0 && Object.keys(timings).length === 1) return MEMORY_TIMING
  return Object.entries(timings)
    .map(([name, ms]) => `${name};dur=${(ms ?? 0).toFixed(1)}`)
    .join(', ')
}

/** The headers every answer from the cache carries: ETag, Cache-Status, Age, Cache-Control, Server-Timing. */
export function cacheHeaders(outcome: CacheOutcome, now: number): Headers {
  const { entry } = outcome
  const headers = new Headers(outcome.headers)
  headers.set('etag', entry.etag)
  headers.set('cache-status', cacheStatusOf(outcome.served, entry, now))
  headers.set('age', String(Math.max(0, Math.floor((now - entry.storedAt) / 1000))))
  headers.set('cache-control', outcome.served.kind === 'uncached' ? 'private, no-cache' : `private, max-age=${freshForS(entry, now)}`)
  headers.set('server-timing', serverTiming(outcome.timings))
  return headers
}
