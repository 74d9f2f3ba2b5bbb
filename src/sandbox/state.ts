/**
 * What has happened to sandbox assets since the sandbox was made: edits (a version counter),
 * readiness and deletion, plus event feeds. The fake providers read it, so a sandbox event
 * really changes what the sandbox provider answers next.
 */
export type AssetChange = { version: number; ready: boolean; deleted: boolean /** When it last changed (ms). */; at?: number }

export type FeedEvent = { created_at: string; cursor: string; entity_id: string; entity_type: string; event_type: string; payload?: Record<string, unknown> }

export class SandboxState {
  private readonly changes = new Map<string, AssetChange>()
  private readonly seen = new Map<string, number>()
  private readonly feeds = new Map<string, FeedEvent[]>()
  private readonly calls = new Map<string, number>()

  of(provider: string, id: string): AssetChange {
    return this.changes.get(`${provider}/${id}`) ?? { version: 1, ready: false, deleted: false }
  }

  change(provider: string, id: string, patch: Partial<AssetChange> & { bump?: boolean }): AssetChange {
    const current = this.of(provider, id)
    const next = {
      version: current.version + (patch.bump ? 1 : 0),
      ready: patch.ready ?? current.ready,
      deleted: patch.deleted ?? current.deleted,
      at: Date.now(), // a record's updated_at, the same on every fetch until the next change
    }
    this.changes.set(`${provider}/${id}`, next)
    return next
  }

  /** How an event's type changes the asset it names. */
  applyEvent(provider: string, id: string, type: string): void {
    if (/deleted/.test(type)) this.change(provider, id, { deleted: true })
    else if (/ready/.test(type)) this.change(provider, id, { ready: true, bump: true })
    else if (/updated|versioned/.test(type)) this.change(provider, id, { bump: true })
  }

  /** When this asset was first looked up (ms), remembered from the first call. */
  firstSeen(provider: string, id: string, now: number): number {
    const key = `${provider}/${id}`
    if (!this.seen.has(key)) this.seen.set(key, now)
    return this.seen.get(key) ?? now
  }

  append(feed: string, event: Omit<FeedEvent, 'cursor' | 'created_at'>): FeedEvent {
    const events = this.feeds.get(feed) ?? []
    this.feeds.set(feed, events)
    const full = { ...event, created_at: new Date().toISOString(), cursor: `cur_${String(events.length + 1).padStart(8, '0')}` }
    events.push(full)
    return full
  }

  after(feed: string, cursor: string | undefined, limit: number): { data: FeedEvent[]; has_more: boolean } {
    const events = this.feeds.get(feed) ?? []
    const start = cursor ? events.findIndex((e) => e.cursor === cursor) + 1 : 0
    return { data: events.slice(start, start + limit), has_more: start + limit < events.length }
  }

  /** Counts one call the sandbox answered (a provider, or a route of its own such as a token endpoint). */
  count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1)
  }

  callsTo(name: string): number {
    return this.calls.get(name) ?? 0
  }
}
