import type { IsolateState } from '../isolate-state'

const REPLAY_PREFIX = 'webhook-seen:'

/**
 * Remembers a delivery's replay key for `windowS` and says whether it was seen before: in this
 * isolate exactly, across isolates through KV (eventually consistent, so a replay reaching another
 * data centre within KV's ~60 s propagation can slip through once; its effect, an invalidation and
 * re-fetch, is harmless to repeat).
 */
export async function seenBefore(isolate: IsolateState, kv: KVNamespace, replayKey: string, windowS: number, now: number): Promise<boolean> {
  const until = isolate.deliveries.get(replayKey)
  if (until !== undefined && until > now) return true
  isolate.deliveries.set(replayKey, now + windowS * 1000)
  try {
    if ((await kv.get(REPLAY_PREFIX + replayKey)) !== null) return true
    await kv.put(REPLAY_PREFIX + replayKey, '1', { expirationTtl: Math.max(60, windowS) })
  } catch {
    // KV down: the isolate's memory still refuses replays here
  }
  return false
}

/** Forgets a delivery `seenBefore` just remembered (it was not kept), so the provider's resend is accepted. */
export async function forgetDelivery(isolate: IsolateState, kv: KVNamespace, replayKey: string): Promise<void> {
  isolate.deliveries.delete(replayKey)
  await kv.delete(REPLAY_PREFIX + replayKey).catch(() => {})
}
