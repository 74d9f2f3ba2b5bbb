import type { CacheEntry } from '../cache/entry'
import { assetTag } from '../cache/keys'
import { kvStore } from '../cache/stores'
import { demoted } from '../cache/tiered-cache'
import { type LookupDeps, lookupAsset, notFoundEntry } from '../lookup'
import { recordMetric } from '../metrics/metrics'
import type { ProviderAdapter, ProviderEvent } from '../providers/types'

/**
 * Applies one provider event in this data centre: removes every cached variant of the asset from
 * memory, the Cache API and KV; then re-fetches it (re-warming KV for every data centre) or records
 * it as not found. Throws when the re-fetch fails (or its event cannot be sent), so a feed does not
 * move past an event it did not apply and a queued provider event is retried (src/events/provider-events.ts).
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

/** How long an invalidated asset's KV copy stays as the comparison base: the retry budget of a provider event (about a day). */
export const COMPARISON_KEEP_S = 86_400

async function apply(deps: LookupDeps, adapter: ProviderAdapter, event: ProviderEvent): Promise<void> {
  const key = adapter.parse(event.ids, new URLSearchParams())
  const asset = assetTag(key.cacheKey)
  const kv = kvStore(deps.upstream.kv, deps.config.tierTimeoutMs)
  // The copy the change replaces, for the subscribers' event.
  const previous = event.effect === 'invalidate' || !deps.events ? undefined : await kv.get(asset)
  if (event.effect === 'rewarm') {
    // The KV copy stays, demoted, until the re-fetch replaces it: if the re-fetch fails, whoever
    // fetches the asset next (this event's retry, a lookup) still compares with it and announces the change.
    await deps.cache.invalidateAsset(asset, previous ? { entry: previous, keepS: COMPARISON_KEEP_S } : undefined)
    // Re-fetch, and let the Cache API and KV copies land before the event counts as applied.
    const outcome = await lookupAsset(deps, adapter, key, { revalidate: true, onlyIfCached: false }, true)
    await announce(deps, adapter, key.ids, asset, previous, outcome.entry)
    // Not found now (announced as a deletion): no record replaces the kept copy, so it goes.
    if (previous && outcome.entry.kind !== 'record') await kv.delete(asset)
  } else if (event.effect === 'deleted') {
    await deps.cache.invalidateAsset(asset)
    const gone = await notFoundEntry(deps.config, JSON.stringify({ reason: 'deleted_event' }))
    await deps.cache.remember(asset, gone)
    await announce(deps, adapter, key.ids, asset, previous, gone)
  } else {
    await deps.cache.invalidateAsset(asset)
  }
}

/**
 * Reports the change; when the event cannot be sent, puts the replaced copy back in KV (demoted)
 * before throwing, so the retry (or the next refresh) still has it to compare with.
 */
async function announce(
  deps: LookupDeps,
  adapter: ProviderAdapter,
  ids: Readonly<Record<string, string>>,
  asset: string,
  previous: CacheEntry | undefined,
  next: CacheEntry,
): Promise<void> {
  try {
    await deps.events?.changed(adapter, ids, previous, next, true, true)
  } catch (err) {
    if (previous) await kvStore(deps.upstream.kv, deps.config.tierTimeoutMs).put(asset, demoted(previous), Date.now(), COMPARISON_KEEP_S)
    throw err
  }
}
