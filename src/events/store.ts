import type { DeliveryAttempt, StoredSubscription, SubscriptionMeta } from './types'

/**
 * Where events live in KV: subscriptions (`sub:<id>`, with the fan-out's facts as list metadata),
 * events kept for redelivery (`evt:<id>`), one key per delivery attempt (`dlv:<sub>:<newest
 * first>`, so a busy subscription never writes one key twice a second) and the "already announced"
 * marks that make one change one event (`evt-seen:<asset>:<etag>`).
 */
export const SUB_PREFIX = 'sub:'
const EVENT_PREFIX = 'evt:'
const DELIVERY_PREFIX = 'dlv:'
export const SEEN_PREFIX = 'evt-seen:'
/** Events and delivery attempts are kept this long (the retry budget is about a day). */
export const KEEP_S = 7 * 86_400
const MAX_TIME = 10 ** 13

export function metaOf(sub: StoredSubscription): SubscriptionMeta {
  return { providers: sub.providers, types: sub.types, key_digest: sub.key_digest }
}

export async function putSubscription(kv: KVNamespace, sub: StoredSubscription): Promise<void> {
  await kv.put(SUB_PREFIX + sub.id, JSON.stringify(sub), { metadata: metaOf(sub) })
}

export async function getSubscription(kv: KVNamespace, id: string): Promise<StoredSubscription | null> {
  if (!/^sub_[A-Za-z0-9]{1,64}$/.test(id)) return null
  return kv.get<StoredSubscription>(SUB_PREFIX + id, 'json')
}

export async function deleteSubscription(kv: KVNamespace, id: string): Promise<void> {
  await kv.delete(SUB_PREFIX + id)
}

/** Every subscription's id and fan-out facts, from the key listing alone. */
export async function listSubscriptionMetas(kv: KVNamespace): Promise<{ id: string; meta: SubscriptionMeta }[]> {
  const out: { id: string; meta: SubscriptionMeta }[] = []
  let cursor: string | undefined
  do {
    const page: KVNamespaceListResult<SubscriptionMeta> = await kv.list<SubscriptionMeta>({ prefix: SUB_PREFIX, ...(cursor ? { cursor } : {}) })
    for (const key of page.keys) if (key.metadata) out.push({ id: key.name.slice(SUB_PREFIX.length), meta: key.metadata })
    cursor = page.list_complete ? undefined : page.cursor
  } while (cursor)
  return out
}

export async function putEvent(kv: KVNamespace, event: { id: string }): Promise<void> {
  await kv.put(EVENT_PREFIX + event.id, JSON.stringify(event), { expirationTtl: KEEP_S })
}

export async function getEvent<T>(kv: KVNamespace, id: string): Promise<T | null> {
  if (!/^evt_[A-Za-z0-9]{1,64}$/.test(id)) return null
  return kv.get<T>(EVENT_PREFIX + id, 'json')
}

/** Records one delivery attempt; newest first in the listing. */
export async function putAttempt(kv: KVNamespace, subscription: string, attempt: DeliveryAttempt, now: number): Promise<void> {
  const order = String(MAX_TIME - now).padStart(14, '0')
  const name = `${DELIVERY_PREFIX}${subscription}:${order}:${attempt.event_id}:${attempt.attempt}:${crypto.randomUUID().slice(0, 8)}`
  await kv.put(name, JSON.stringify(attempt), { expirationTtl: KEEP_S })
}

/** The last `limit` delivery attempts of a subscription, newest first. */
export async function listAttempts(kv: KVNamespace, subscription: string, limit: number): Promise<DeliveryAttempt[]> {
  const { keys } = await kv.list({ prefix: `${DELIVERY_PREFIX}${subscription}:`, limit })
  const attempts = await Promise.all(keys.map((k) => kv.get<DeliveryAttempt>(k.name, 'json')))
  return attempts.filter((a): a is DeliveryAttempt => a !== null)
}

/** Deletes a subscription's delivery log (with the subscription). */
export async function deleteAttempts(kv: KVNamespace, subscription: string): Promise<void> {
  for (;;) {
    const { keys } = await kv.list({ prefix: `${DELIVERY_PREFIX}${subscription}:`, limit: 1000 })
    if (keys.length === 0) return
    await Promise.all(keys.map((k) => kv.delete(k.name)))
  }
}
