import { intSetting } from '../upstream/fetch-record'
import { assetTag } from './keys'
import { type CachePolicy, policyFromEnv } from './policy'
import { TieredCache } from './tiered-cache'
import { edgeTier, kvTier, MemoryTier } from './tiers'

const DEFAULT_MEMORY_MAX_ENTRIES = 5000
const DEFAULT_MEMORY_MAX_BYTES = 32 * 1024 * 1024
const DEFAULT_TIER_TIMEOUT_MS = 300 // a Cache API or KV call slower than this is treated as a miss

/** Entry format version, part of every edge key; `forgetEdgeEntries` moves it on in tests. */
let edgeNamespace = 'v1'
let memory: { signature: string; tier: MemoryTier | undefined } | undefined
const policies = new WeakMap<object, CachePolicy>()

/** The settings signature each env object was last read with, so a hit does not parse vars again. */
const signatures = new WeakMap<object, string>()

/** This isolate's memory tier, sized by vars; `MEMORY_CACHE_MAX_ENTRIES=0` turns it off. */
export function memoryTier(env: Env): MemoryTier | undefined {
  const known = signatures.get(env)
  if (known !== undefined && memory?.signature === known) return memory.tier // the hot path: no parsing
  const maxEntries = env.MEMORY_CACHE_MAX_ENTRIES === '0' ? 0 : intSetting(env.MEMORY_CACHE_MAX_ENTRIES, DEFAULT_MEMORY_MAX_ENTRIES)
  const maxBytes = intSetting(env.MEMORY_CACHE_MAX_BYTES, DEFAULT_MEMORY_MAX_BYTES)
  const ttlS = intSetting(env.MEMORY_TTL_S, 5)
  const signature = `${maxEntries}/${maxBytes}/${ttlS}`
  signatures.set(env, signature)
  if (memory?.signature !== signature) {
    memory = { signature, tier: maxEntries > 0 ? new MemoryTier({ maxEntries, maxBytes, ttlS }) : undefined }
  }
  return memory.tier
}

/** The freshness policy for this env, computed once per env object. */
export function cachePolicy(env: Env): CachePolicy {
  let policy = policies.get(env)
  if (!policy) {
    policy = policyFromEnv(env as unknown as Record<string, string | undefined>)
    policies.set(env, policy)
  }
  return policy
}


export type CacheFactoryOptions = {
  /** The Cache API cache to use; `caches.default` unless a test injects another. */
  openEdge?: () => Promise<Cache> | Cache
}

/** Assembles the tiers for one request. */
export function buildCache(env: Env, waitUntil: (p: Promise<unknown>) => void, options: CacheFactoryOptions = {}): TieredCache {
  const policy = cachePolicy(env)
  const timeoutMs = intSetting(env.CACHE_TIER_TIMEOUT_MS, DEFAULT_TIER_TIMEOUT_MS)
  return new TieredCache({
    memory: memoryTier(env),
    edge: edgeTier(options.openEdge ?? (() => caches.default), edgeNamespace, policy.edgeMaxS, timeoutMs, (key) => [assetTag(key)]),
    kv: kvTier(env.ASSET_KV, timeoutMs),
    waitUntil,
  })
}

/** Empties this isolate's memory tier (tests; purge uses per-key deletes). */
export function clearMemoryTier(): void {
  memory?.tier?.clear()
}

let generation = 0
/** Makes every Cache API entry written so far unreachable (tests: the Cache API cannot be listed). */
export function forgetEdgeEntries(): void {
  generation += 1
  edgeNamespace = `v1-${generation}`
}
