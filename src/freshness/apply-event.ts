import { assetTag } from '../cache/keys'
import { type LookupDeps, lookupAsset, notFoundEntry } from '../lookup'
import { recordMetric } from '../metrics/metrics'
import type { ProviderAdapter, ProviderEvent } from '../providers/types'

/**
 * Applies one provider event in this data centre: removes every cached variant of the asset from
 * memory, the Cache API and KV; then re-fetches it (re-warming KV for every data centre) or records
 * it as not found. Throws when the re-fetch fails, so a feed does not move past an event it did not apply.
 */
export async function applyAssetEvent(deps: LookupDeps, adapter: ProviderAdapter, event: ProviderEvent): Promise<void> {
  let status = 500
  try {
    await apply(deps, adapter, event)
    status = 200
  } finally {
    const { env, isolate } = deps.upstream
    recordMetric(env, isolate, {
      kind: 'event',
      provider: adapter.name,
      tier: event.effect,
      code: event.type,
      status,
      upstreamStatus: 0,
      upstreamMs: 0,
      bytes: 0,
    })
  }
}

async function apply(deps: LookupDeps, adapter: ProviderAdapter, event: ProviderEvent): Promise<void> {
  const key = adapter.parse(event.ids, new URLSearchParams())
  const asset = assetTag(key.cacheKey)
  await deps.cache.invalidateAsset(asset)
  if (event.effect === 'rewarm') {
    // Re-fetch, and let the Cache API and KV copies land before the event counts as applied.
    await lookupAsset(deps, adapter, key, { revalidate: true, onlyIfCached: false }, true)
  } else if (event.effect === 'deleted') {
    await deps.cache.remember(asset, await notFoundEntry(deps.config, { reason: 'deleted_event' }))
  }
}
