import type { CacheEntry } from '../cache/entry'
import { toHex } from '../encoding'
import type { IsolateState } from '../isolate-state'
import type { AssetState, LookupKey, ProviderAdapter, ProviderRegistry } from '../providers/types'
import { putEvent, SEEN_PREFIX } from './store'
import type { AssetEvent, AssetEventType, EventMessage } from './types'

/** How long "this asset's change to this ETag was announced" is remembered, seconds (KV's minimum is 60). */
const SEEN_TTL_S = 600
/** A queue message is at most 128 KB: a larger event travels by reference to its `evt:` copy in KV. */
export const INLINE_EVENT_BYTES = 100_000

/** A new event id: `evt_` + time-ordered hex + randomness. */
export function newEventId(now = Date.now()): string {
  return `evt_${now.toString(16).padStart(12, '0')}${toHex(crypto.getRandomValues(new Uint8Array(8)))}`
}

/**
 * What an entry says, less what changes on every fetch: a digest of its body with each media URL
 * cut before its query (signed URLs are signed anew on every call, so the ETag alone would make
 * each refresh a change). The adapter names the media URLs; not-found entries keep their ETag.
 */
export async function contentTag(adapter: ProviderAdapter, entry: CacheEntry): Promise<string> {
  if (entry.kind !== 'record') return entry.etag
  let body = entry.body
  try {
    for (const url of adapter.facts(JSON.parse(body) as unknown).mediaUrls) {
      const at = url.indexOf('?')
      if (at > 0) body = body.split(url).join(url.slice(0, at))
    }
  } catch {
    return entry.etag
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body)))
  return toHex(digest.slice(0, 16))
}

/** The type of the event a change from `previous` to `next` is (`same`: they say the same), or undefined when it is none. */
export function classify(previous: CacheEntry | undefined, next: CacheEntry, announced: boolean, same: boolean): AssetEventType | undefined {
  const gone = (e: CacheEntry | undefined) => e !== undefined && (e.kind === 'not_found' || e.state === 'deleted')
  if (previous && (same || previous.etag === next.etag)) return undefined
  if (gone(next)) return gone(previous) || (!previous && !announced) ? undefined : 'asset.deleted'
  if (!previous) return announced ? (next.state === 'ready' ? 'asset.ready' : 'asset.updated') : undefined
  if (next.state === 'ready' && previous.state !== 'ready') return 'asset.ready'
  return 'asset.updated'
}

/** What the events need from where they arise: the registry, KV, the producer binding, the isolate. */
export type EventSinkDeps = { providers: ProviderRegistry; kv: KVNamespace; queue: Queue | undefined; isolate: IsolateState }

/**
 * Where changes become events. Every source (provider webhooks and feeds, pending re-checks, any
 * refresh that replaces a KV copy with a different ETag) reports here; one change of an asset
 * (its new ETag) becomes one event however many sources see it: this isolate remembers it, and KV
 * (`evt-seen:`) tells other isolates. Sends never fail the caller.
 */
export class EventSink {
  constructor(private readonly deps: EventSinkDeps) {}

  /** A change of the asset behind cache key `cacheKey` (the cache's `onChange`); variants with a query are not assets. */
  cacheChanged(cacheKey: string, previous: CacheEntry, next: CacheEntry): Promise<void> {
    const found = this.assetOf(cacheKey)
    return found ? this.changed(found.adapter, found.ids, previous, next, false) : Promise.resolve()
  }

  /**
   * A change of one asset. `announced`: the provider said it changed (webhook, feed), so even
   * without an earlier copy to compare with, it is an event. `strict`: a send that fails throws
   * (a provider event is then retried) instead of being logged. Either way a failed send leaves
   * no "announced" mark behind, so the next source to see the change announces it.
   */
  async changed(
    adapter: ProviderAdapter,
    ids: Readonly<Record<string, string>>,
    previous: CacheEntry | undefined,
    next: CacheEntry,
    announced: boolean,
    strict = false,
  ): Promise<void> {
    const { queue, kv, isolate } = this.deps
    if (!queue) return
    let marked: string | undefined
    const seen = isolate.slot('events:seen', () => new Map<string, number>())
    try {
      const tag = await contentTag(adapter, next)
      const same = previous !== undefined && (await contentTag(adapter, previous)) === tag
      const type = classify(previous, next, announced, same)
      if (!type) return
      const asset = `${adapter.name}/${Object.values(ids).join('/')}`
      const seenKey = `${SEEN_PREFIX}${asset}:${tag}`
      const now = Date.now()
      if ((seen.get(seenKey) ?? 0) > now) return
      if (seen.size > 10_000) seen.clear()
      seen.set(seenKey, now + SEEN_TTL_S * 1000)
      marked = seenKey
      if (await kv.get(seenKey)) {
        marked = undefined // another isolate's mark: that one announced it
        return
      }
      await kv.put(seenKey, '1', { expirationTtl: SEEN_TTL_S })
      const deleted = type === 'asset.deleted'
      const event: AssetEvent = {
        id: newEventId(now),
        type,
        occurred_at: new Date(next.storedAt).toISOString(),
        provider: adapter.name,
        asset: { ...ids },
        state: deleted ? 'deleted' : (next.state as AssetState),
        ...(deleted ? {} : { record: JSON.parse(next.body) as unknown }),
      }
      await queue.send(await packEvent(kv, { kind: 'event', event }))
    } catch (err) {
      if (marked) {
        seen.delete(marked)
        await kv.delete(marked).catch(() => {})
      }
      console.error(JSON.stringify({ level: 'error', message: 'asset event not sent', provider: adapter.name, error: String(err) }))
      if (strict) throw err
    }
  }

  /** The adapter and lookup ids of a cache key without a query (`provider/id[/id]`), if it is one. */
  private assetOf(cacheKey: string): { adapter: ProviderAdapter; ids: Record<string, string> } | undefined {
    if (cacheKey.includes('?')) return undefined
    const [name = '', ...values] = cacheKey.split('/')
    const adapter = this.deps.providers.get(name)
    if (!adapter) return undefined
    const names = [...adapter.route.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '')
    if (names.length !== values.length) return undefined
    try {
      const key: LookupKey = adapter.parse(Object.fromEntries(names.map((n, i) => [n, values[i] ?? ''])), new URLSearchParams())
      return key.cacheKey === cacheKey ? { adapter, ids: { ...key.ids } } : undefined
    } catch {
      return undefined
    }
  }
}

/** A message as sent: the event inline when it fits a queue message, else by reference to its KV copy. */
export type PackedMessage = EventMessage | { kind: 'event'; ref: string } | { kind: 'delivery'; subscription: string; ref: string; redelivery?: boolean }

export async function packEvent(kv: KVNamespace, message: EventMessage): Promise<PackedMessage> {
  if (JSON.stringify(message.event).length <= INLINE_EVENT_BYTES) return message
  await putEvent(kv, message.event)
  const { event, ...rest } = message
  return { ...rest, ref: event.id }
}
