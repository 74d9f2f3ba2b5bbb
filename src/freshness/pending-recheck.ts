import type { LookupKey } from '../providers/types'

/** KV keys of assets seen pending at a provider without events: `recheck:<cacheKey>` → path ids. */
export const RECHECK_PREFIX = 'recheck:'
const RECHECK_TTL_S = 6 * 3600 // an asset still pending after this long is left to normal freshness
const noted = new Map<string, number>() // this isolate's recent notes, to spare KV writes

/** Remembers that `key` was pending, so the cron looks again until it is ready. */
export async function notePending(kv: KVNamespace, key: LookupKey): Promise<void> {
  const now = Date.now()
  if ((noted.get(key.cacheKey) ?? 0) > now) return
  noted.set(key.cacheKey, now + 60_000)
  if (noted.size > 10_000) noted.clear()
  await kv.put(RECHECK_PREFIX + key.cacheKey, JSON.stringify({ provider: key.provider, ids: key.ids }), { expirationTtl: RECHECK_TTL_S }).catch(() => {})
}

/** Forgets this isolate's notes (tests). */
export function resetPendingNotes(): void {
  noted.clear()
}
