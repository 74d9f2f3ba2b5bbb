/**
 * What has happened to sandbox assets since the isolate started: edits (a version counter),
 * readiness and deletion, plus Gumnut's event log. The fixtures read it, so a sandbox event
 * really changes what the sandbox provider answers next.
 */
export type AssetChange = { version: number; ready: boolean; deleted: boolean }

const changes = new Map<string, AssetChange>()
const firstSeen = new Map<string, number>()

export type GumnutEvent = { created_at: string; cursor: string; entity_id: string; entity_type: string; event_type: string; payload?: Record<string, unknown> }
const gumnutEvents: GumnutEvent[] = []

/** Seconds after its first lookup that the sandbox Spotify "processing" asset becomes READY. */
export const SPOTIFY_PROCESSING_S = 30

export const sandboxState = {
  of(provider: string, id: string): AssetChange {
    return changes.get(`${provider}/${id}`) ?? { version: 1, ready: false, deleted: false }
  },
  change(provider: string, id: string, patch: Partial<AssetChange> & { bump?: boolean }): AssetChange {
    const current = sandboxState.of(provider, id)
    const next = {
      version: current.version + (patch.bump ? 1 : 0),
      ready: patch.ready ?? current.ready,
      deleted: patch.deleted ?? current.deleted,
    }
    changes.set(`${provider}/${id}`, next)
    return next
  },
  /** When this asset was first looked up (ms), remembered from the first call. */
  firstSeen(provider: string, id: string, now: number): number {
    const key = `${provider}/${id}`
    if (!firstSeen.has(key)) firstSeen.set(key, now)
    return firstSeen.get(key) ?? now
  },
  appendGumnutEvent(event: Omit<GumnutEvent, 'cursor' | 'created_at'>): GumnutEvent {
    const full = { ...event, created_at: new Date().toISOString(), cursor: `cur_${String(gumnutEvents.length + 1).padStart(8, '0')}` }
    gumnutEvents.push(full)
    return full
  },
  gumnutEventsAfter(cursor: string | undefined, limit: number): { data: GumnutEvent[]; has_more: boolean } {
    const start = cursor ? gumnutEvents.findIndex((e) => e.cursor === cursor) + 1 : 0
    const data = gumnutEvents.slice(start, start + limit)
    return { data, has_more: start + limit < gumnutEvents.length }
  },
  reset(): void {
    changes.clear()
    firstSeen.clear()
    gumnutEvents.length = 0
  },
}
