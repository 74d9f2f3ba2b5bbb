import type { Upstream } from '../lookup'
import type { LookupKey } from '../providers/types'

/** KV keys of assets seen pending at a provider without events: `recheck:<cacheKey>` → path ids. */
export const RECHECK_PREFIX = 'recheck:'
const RECHECK_TTL_S = 6 * 3600 // an asset still pending after this long is left to normal freshness
const NOTE_EVERY_MS = 60_000 // one isolate notes one asset at most this often

/** Remembers that `key` was pending, so the cron looks again until it is ready. */
export async function notePending({ kv, isolate }: Pick<Upstream, 'kv' | 'isolate'>, key: LookupKey): Promise<void> {
  const now = Date.now()
  const notes = isolate.pendingNotes
  if ((notes.get(key.cacheKey) ?? 0) > now) return
  notes.set(key.cacheKey, now + NOTE_EVERY_MS)
  await kv.put(RECHECK_PREFIX + key.cacheKey, JSON.stringify({ provider: key.provider, ids: key.ids }), { expirationTtl: RECHECK_TTL_S }).catch(() => {})
}
