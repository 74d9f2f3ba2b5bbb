import { assetTag } from '../cache/keys'
import { kvStore } from '../cache/stores'
import { type LookupDeps, lookupAsset, notFoundEntry } from '../lookup'
import { recordMetric } from '../metrics/metrics'
import type { ProviderAdapter, ProviderEvent } from '../providers/types'

/**
 * Applies one provider event in this data centre: removes every cached variant of the asset from
 * memory, the Cache API and KV; then re-fetches it (re-warming KV for every data centre) or records
 * it as not found. Throws when the re-fetch fails, so a feed does not move past an event it did not apply.
 * The change (against the KV copy it replaces) is reported to the webhook subscribers' events.
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
  // The copy the change replaces, for the subscribers' event (the invalidation removes it).
  const previous = event.effect === 'invalidate' || !deps.events ? undefined : await kvStore(deps.upstream.kv, deps.config.tierTimeoutMs).get(asset)
  await deps.cache.invalidateAsset(asset)
  if (event.effect === 'rewarm') {
    // Re-fetch, and let the Cache API and KV copies land before the event counts as applied.
    const outcome = await lookupAsset(deps, adapter, key, { revalidate: true, onlyIfCached: false }, true)
    await deps.events?.changed(adapter, key.ids, previous, outcome.entry, true)
  } else if (event.effect === 'deleted') {
    const gone = await notFoundEntry(deps.config, JSON.stringify({ reason: 'deleted_event' }))
    await deps.cache.remember(asset, gone)
    await deps.events?.changed(adapter, key.ids, previous, gone, true)
  }
}
