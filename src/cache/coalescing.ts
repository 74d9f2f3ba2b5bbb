import type { CacheEntry } from './entry'
import { assetTag } from './keys'

/** An entry fetched from the provider, with the headers to pass through on this answer. */
export type Loaded = {
  entry: CacheEntry
  headers: Record<string, string>
  /** Another isolate's upstream call, joined through the gate: it writes KV, this isolate the nearer tiers. */
  joined?: boolean
  /** How the provider gate took part, when it is worth saying (`Server-Timing: gate;desc=…`). */
  gate?: string
}

/**
 * One isolate's bookkeeping of upstream calls: concurrent misses and refreshes of a key join one
 * call, an answer stays at hand until its shared copies are written, and an invalidation makes a
 * call that began before it store nothing.
 */
export class Coalescer {
  /** Refreshes in flight, per key. */
  readonly inflight = new Map<string, Promise<Loaded>>()
  /**
   * Answers whose Cache API and KV copies are still being written, per key. A plain value, not the
   * refresh's promise: workerd cancels a request left waiting on a promise settled by another request.
   */
  readonly landing = new Map<string, Loaded>()
  /** Per asset (its key without a query), the count of the last invalidation. */
  private readonly generations = new Map<string, number>()
  private invalidations = 0

  /** The generation an asset is in now; compare later with `isCurrent`. */
  generation(key: string): number | undefined {
    return this.generations.get(assetTag(key))
  }

  isCurrent(key: string, generation: number | undefined): boolean {
    return this.generations.get(assetTag(key)) === generation
  }

  /** Starts a new generation for `asset` and forgets its calls and answers: none may be joined or stored. */
  invalidate(asset: string): string[] {
    if (this.generations.size >= 10_000) this.generations.clear() // a refresh from before the clear then stores nothing: safe
    this.generations.set(asset, ++this.invalidations)
    const keys = [...this.inflight.keys(), ...this.landing.keys()].filter((key) => assetTag(key) === asset)
    for (const key of keys) {
      this.inflight.delete(key)
      this.landing.delete(key)
    }
    return keys
  }
}
