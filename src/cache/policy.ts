import type { ProviderName, RecordFacts } from '../providers/types'
import { intSetting } from '../upstream/fetch-record'
import { mediaUrlExpiry } from './media-expiry'

/** Freshness settings, read from vars once per isolate; every duration in seconds. */
export type CachePolicy = {
  freshReadyS: number
  freshPendingS: number
  staleWhileRevalidateS: number
  staleIfErrorS: number
  notFoundS: number
  edgeMaxS: number
  memoryTtlS: number
  mediaMinValidityS: number
  assumedMediaLifetimeS: Record<ProviderName, number>
}

type PolicyVars = Partial<Record<string, string | undefined>>

/** The policy from vars (see wrangler.toml), with the defaults the README lists. */
export function policyFromEnv(env: PolicyVars): CachePolicy {
  const s = (name: string, fallback: number) => {
    const raw = env[name]
    if (raw === '0') return 0
    return intSetting(raw, fallback)
  }
  return {
    freshReadyS: s('CACHE_FRESH_READY_S', 300),
    freshPendingS: s('CACHE_FRESH_PENDING_S', 5),
    staleWhileRevalidateS: s('CACHE_STALE_WHILE_REVALIDATE_S', 3600),
    staleIfErrorS: s('CACHE_STALE_IF_ERROR_S', 86_400),
    notFoundS: s('CACHE_NOT_FOUND_S', 30),
    edgeMaxS: s('CACHE_EDGE_MAX_S', 60),
    memoryTtlS: s('MEMORY_TTL_S', 5),
    mediaMinValidityS: s('MEDIA_URL_MIN_VALIDITY_S', 60),
    assumedMediaLifetimeS: {
      spotify: s('MEDIA_ASSUMED_LIFETIME_S_SPOTIFY', 86_400),
      sync: s('MEDIA_ASSUMED_LIFETIME_S_SYNC', 3600),
      gumnut: s('MEDIA_ASSUMED_LIFETIME_S_GUMNUT', 900),
      frameio: s('MEDIA_ASSUMED_LIFETIME_S_FRAMEIO', 3600),
    },
  }
}

export type Windows = { freshUntil: number; staleUntil: number; staleIfErrorUntil: number }

/**
 * The instant after which a record may no longer be served: every media URL in it must stay valid
 * for `mediaMinValidityS` after it is served. A URL whose expiry is invisible gets the provider's
 * assumed lifetime from `storedAt`.
 */
export function mediaDeadline(policy: CachePolicy, provider: ProviderName, mediaUrls: readonly string[], storedAt: number): number {
  let deadline = Number.POSITIVE_INFINITY
  for (const url of mediaUrls) {
    const expiry = mediaUrlExpiry(url) ?? storedAt + policy.assumedMediaLifetimeS[provider] * 1000
    deadline = Math.min(deadline, expiry - policy.mediaMinValidityS * 1000)
  }
  return deadline
}

/** Freshness windows of a record fetched at `storedAt`, by its state, capped by its media URLs. */
export function recordWindows(policy: CachePolicy, provider: ProviderName, facts: RecordFacts, storedAt: number): Windows {
  const cap = mediaDeadline(policy, provider, facts.mediaUrls, storedAt)
  const at = (seconds: number) => Math.min(storedAt + seconds * 1000, cap)
  const pending = facts.state === 'processing'
  const freshS = pending ? policy.freshPendingS : policy.freshReadyS
  return {
    freshUntil: at(freshS),
    // A pending asset changes soon: never serve it stale while revalidating, only when the provider fails.
    staleUntil: at(pending ? freshS : freshS + policy.staleWhileRevalidateS),
    staleIfErrorUntil: at(Math.max(freshS, policy.staleIfErrorS)),
  }
}

/** Freshness of a "no such asset" answer: fresh for `notFoundS`, never stale. */
export function notFoundWindows(policy: CachePolicy, storedAt: number): Windows {
  const until = storedAt + policy.notFoundS * 1000
  return { freshUntil: until, staleUntil: until, staleIfErrorUntil: until }
}
