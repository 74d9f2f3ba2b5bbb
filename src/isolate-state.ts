import { Coalescer } from './cache/coalescing'
import { Lru } from './cache/lru'
import { type MemoryLimits, MemoryTier } from './cache/memory-tier'
import type { KeyRecord } from './http/auth'
import type { KnownLookup } from './http/hit-path'
import { LogBuffer } from './http/log-sink'
import type { Pacer } from './upstream/pacer'

/** A gateway key as this isolate last verified it (or refused it), until `until`. */
export type VerifiedKey = { record: KeyRecord | null; digest: string; until: number }

/**
 * Everything that outlives one request in an isolate, in one object made where the isolate starts
 * (the Worker's entry point) and passed down. Nothing else keeps state in module globals, so a
 * test plays two isolates by making two of these.
 */
export class IsolateState {
  /** Refreshes in flight, answers landing in the tiers, invalidation generations. */
  readonly coalescer = new Coalescer()
  /** Verified gateway keys by the key as presented (a repeat skips hashing and KV alike). */
  readonly keys = new Lru<string, VerifiedKey>({ max: 10_000 })
  /**
   * Gateway keys by digest, as links name their minting key (`/r/`): apart from `keys`, so a
   * digest presented as a key never finds a record here.
   */
  readonly keysByDigest = new Lru<string, VerifiedKey>({ max: 10_000 })
  /** Mirror-route requests parsed before, by path and query: what the memory-hit path answers from. */
  readonly lookups = new Lru<string, KnownLookup>({ max: 10_000 })
  /** Per-provider call pacers, by `provider/rps`. */
  readonly pacers = new Map<string, Pacer>()
  /** Webhook deliveries seen, by replay key, until when. */
  readonly deliveries = new Lru<string, number>({ max: 50_000 })
  /** Assets recently noted as pending, by cache key, until when (spares KV writes). */
  readonly pendingNotes = new Lru<string, number>({ max: 10_000 })
  /** Access-log lines waiting for their batch. */
  readonly log = new LogBuffer()
  private memory: { limits: MemoryLimits; signature: string; tier: MemoryTier | undefined } | undefined
  private readonly slots = new Map<string, unknown>()

  /** The memory tier for these limits (a new one when they change); none when `maxEntries` is 0. */
  memoryTier(limits: MemoryLimits): MemoryTier | undefined {
    if (this.memory?.limits === limits) return this.memory.tier // the hot path: one comparison
    const signature = `${limits.maxEntries}/${limits.maxBytes}/${limits.ttlS}`
    if (this.memory?.signature !== signature) {
      this.memory = { limits, signature, tier: limits.maxEntries > 0 ? new MemoryTier(limits) : undefined }
    } else {
      this.memory.limits = limits
    }
    return this.memory.tier
  }

  /** A value owned by one module (a provider's token memo, the link key ring), made on first use. */
  slot<T>(name: string, make: () => T): T {
    if (!this.slots.has(name)) this.slots.set(name, make())
    return this.slots.get(name) as T
  }
}
