import type { Config } from '../config'
import type { RecordFacts } from '../providers/types'
import { mediaUrlExpiry } from './media-expiry'

/** The settings freshness depends on: the cache windows and each provider's assumed media lifetime. */
export type CachePolicy = Pick<Config, 'cache' | 'provider'>

export type Windows = { freshUntil: number; staleUntil: number; staleIfErrorUntil: number }

/**
 * The instant after which a record may no longer be served: every media URL in it must stay valid
 * for `mediaMinValidityS` after it is served. A URL whose expiry is invisible gets the provider's
 * assumed lifetime from `storedAt`.
 */
export function mediaDeadline(policy: CachePolicy, provider: string, mediaUrls: readonly string[], storedAt: number): number {
  const assumedS = policy.provider(provider).assumedMediaLifetimeS
  let deadline = Number.POSITIVE_INFINITY
  for (const url of mediaUrls) {
    const expiry = mediaUrlExpiry(url) ?? storedAt + assumedS * 1000
    deadline = Math.min(deadline, expiry - policy.cache.mediaMinValidityS * 1000)
  }
  return deadline
}

/** Freshness windows of a record fetched at `storedAt`, by its state, capped by its media URLs. */
export function recordWindows(policy: CachePolicy, provider: string, facts: RecordFacts, storedAt: number): Windows {
  const { cache } = policy
  const cap = mediaDeadline(policy, provider, facts.mediaUrls, storedAt)
  const at = (seconds: number) => Math.min(storedAt + seconds * 1000, cap)
  const pending = facts.state === 'processing'
  const freshS = pending ? cache.freshPendingS : cache.freshReadyS
  return {
    freshUntil: at(freshS),
    // A pending asset changes soon: never serve it stale while revalidating, only when the provider fails.
    staleUntil: at(pending ? freshS : freshS + cache.staleWhileRevalidateS),
    staleIfErrorUntil: at(Math.max(freshS, cache.staleIfErrorS)),
  }
}

/** Freshness of a "no such asset" answer: fresh for `notFoundS`, never stale. */
export function notFoundWindows(policy: CachePolicy, storedAt: number): Windows {
  const until = storedAt + policy.cache.notFoundS * 1000
  return { freshUntil: until, staleUntil: until, staleIfErrorUntil: until }
}
