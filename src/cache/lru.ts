/**
 * A bounded least-recently-used map on `Map`'s insertion order: at most `max` entries and, when
 * `maxSize` is set, at most that many units of `size(value)`. What the isolate keeps (memory tier,
 * verified keys, webhook deliveries) needs no more than this, and it weighs a fraction of a
 * general-purpose LRU library in the Worker bundle.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; size: number }>()
  private total = 0

  constructor(private readonly options: { max: number; maxSize?: number; size?: (value: V) => number }) {}

  /** The value, marked as most recently used. */
  get(key: K): V | undefined {
    const slot = this.map.get(key)
    if (!slot) return undefined
    this.map.delete(key)
    this.map.set(key, slot)
    return slot.value
  }

  /** Stores `value` as most recently used, evicting the least recently used past the bounds; a value larger than `maxSize` is not kept. */
  set(key: K, value: V): void {
    const size = this.options.size?.(value) ?? 0
    this.delete(key)
    if (this.options.maxSize !== undefined && size > this.options.maxSize) return
    this.map.set(key, { value, size })
    this.total += size
    while (this.map.size > this.options.max || (this.options.maxSize !== undefined && this.total > this.options.maxSize)) {
      const oldest = this.map.keys().next()
      if (oldest.done) break
      this.delete(oldest.value)
    }
  }

  delete(key: K): void {
    const slot = this.map.get(key)
    if (!slot) return
    this.total -= slot.size
    this.map.delete(key)
  }

  keys(): IterableIterator<K> {
    return this.map.keys()
  }

  clear(): void {
    this.map.clear()
    this.total = 0
  }

  get size(): number {
    return this.map.size
  }

  /** The sum of `size(value)` over the entries held. */
  get calculatedSize(): number {
    return this.total
  }
}
