import { assetTag } from '../cache/keys'
import { lookupAsset, type LookupDeps, notFoundEntry } from '../lookup'
import { PROVIDERS } from '../providers'
import type { ProviderName } from '../providers/types'

/** What an event means for the cache: drop the asset, drop and re-fetch it, or record it gone. */
export type EventEffect = 'invalidate' | 'rewarm' | 'deleted'

/** An event reduced to what the cache needs: which asset (its route's path ids) and the effect. */
export type AssetEvent = { provider: ProviderName; ids: Record<string, string>; effect: EventEffect }

/**
 * Applies one event in this data centre: removes every cached variant of the asset from memory,
 * the Cache API and KV; then re-fetches it (re-warming KV for every data centre) or records it as
 * not found. Throws when the re-fetch fails, so a feed does not move past an event it did not apply.
 */
export async function applyAssetEvent(deps: LookupDeps, event: AssetEvent): Promise<void> {
  const adapter = PROVIDERS[event.provider]
  const key = adapter.parse(event.ids, new URLSearchParams())
  const base = assetTag(key.cacheKey)
  await deps.cache.invalidateAsset(base)
  if (event.effect === 'rewarm') {
    // Re-fetch, and let the Cache API and KV copies land before the event counts as applied.
    await lookupAsset(deps, adapter, key, { revalidate: true, onlyIfCached: false }, true)
  } else if (event.effect === 'deleted') {
    await deps.cache.remember(base, await notFoundEntry(deps.policy, { reason: 'deleted_event' }))
  }
}
