import { LRUCache } from 'lru-cache'

const REPLAY_PREFIX = 'webhook-seen:'
const seen = new LRUCache<string, number>({ max: 50_000 })

/**
 * Remembers a (timestamp, signature) pair for the webhook window and says whether it was seen
 * before: in this isolate exactly, across isolates through KV (eventually consistent, so a replay
 * reaching another data centre within KV's ~60 s propagation can slip through once; its effect,
 * an invalidation and re-fetch, is harmless to repeat).
 */
export async function seenBefore(kv: KVNamespace, timestamp: number, signature: string, windowS: number, now: number): Promise<boolean> {
  const id = `${timestamp}:${signature}`
  const until = seen.get(id)
  if (until !== undefined && until > now) return true
  seen.set(id, now + windowS * 1000)
  try {
    if ((await kv.get(REPLAY_PREFIX + id)) !== null) return true
    await kv.put(REPLAY_PREFIX + id, '1', { expirationTtl: Math.max(60, windowS) })
  } catch {
    // KV down: the isolate's memory still refuses replays here
  }
  return false
}

/** Forgets replays seen in this isolate (tests). */
export function resetReplayGuard(): void {
  seen.clear()
}
