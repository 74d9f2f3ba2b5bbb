import { type CacheEntry, entrySize } from './entry'
import { Lru } from './lru'

export type MemoryLimits = { maxEntries: number; maxBytes: number; ttlS: number }

type MemorySlot = { entry: CacheEntry; until: number }

/** The isolate's own bounded LRU (entries and bytes); an entry lives here `ttlS` at most. */
export class MemoryTier {
  readonly name = 'memory' as const
  private readonly lru: Lru<string, MemorySlot>

  constructor(readonly limits: MemoryLimits) {
    this.lru = new Lru<string, MemorySlot>({
      max: Math.max(1, limits.maxEntries),
      maxSize: Math.max(1, limits.maxBytes),
      size: (slot) => entrySize(slot.entry),
    })
  }

  /** The entry, synchronously: the hit path does no I/O and awaits nothing. */
  peek(key: string, now: number): CacheEntry | undefined {
    const slot = this.lru.get(key)
    if (!slot) return undefined
    if (slot.until <= now) {
      this.lru.delete(key)
      return undefined
    }
    return slot.entry
  }

  set(key: string, entry: CacheEntry, now: number): void {
    const until = Math.min(now + this.limits.ttlS * 1000, entry.staleIfErrorUntil)
    if (until <= now || entrySize(entry) > this.limits.maxBytes) return
    this.lru.set(key, { entry, until })
  }

  delete(key: string): void {
    this.lru.delete(key)
  }

  /** Every key held, for purging all query variants of one asset. */
  keys(): string[] {
    return [...this.lru.keys()]
  }

  clear(): void {
    this.lru.clear()
  }

  get stats() {
    return { entries: this.lru.size, bytes: this.lru.calculatedSize, maxBytes: this.limits.maxBytes, maxEntries: this.limits.maxEntries }
  }
}
