import { encodeBase64url } from '../encoding'
import type { AssetState } from '../providers/types'

/**
 * One cached answer, the same object in every tier. It carries the serialised body and its ETag,
 * so a hit only copies them, and the instants (ms since the epoch) that bound its use.
 */
export type CacheEntry = {
  v: 1
  /** A provider record, or the provider's "no such asset". */
  kind: 'record' | 'not_found'
  /**
   * The provider's body exactly as sent: the record, or its "no such asset" answer. A not-found
   * entry that no provider answer stands behind (an event said the asset is gone; an older version's
   * entry) holds problem extras as JSON and no `contentType`.
   */
  body: string
  /** Not found: the status the provider answered (404, 410, or a 400 the adapter reads as "not found"). */
  status?: number
  /** The provider's content type, present when `body` is the provider's own answer (entries of older versions lack it). */
  contentType?: string
  etag: string
  state: AssetState | 'not_found'
  storedAt: number
  /** Served as fresh until then. */
  freshUntil: number
  /** Served stale while one refresh runs, until then. */
  staleUntil: number
  /** Served stale when the provider fails, until then. Never past the media URLs' validity. */
  staleIfErrorUntil: number
}

const encoder = new TextEncoder()

/** A strong ETag over the body bytes (SHA-256, base64url, 128 bits). */
export async function strongEtag(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(body)))
  return `"${encodeBase64url(digest.slice(0, 16))}"`
}

/** Rough bytes an entry holds in memory, for the memory tier's byte bound. */
export function entrySize(entry: CacheEntry): number {
  return entry.body.length * 2 + entry.etag.length * 2 + 160
}

/** True when `value` is a well-formed entry (tiers hold bytes other isolates and versions wrote). */
export function isCacheEntry(value: unknown): value is CacheEntry {
  if (typeof value !== 'object' || value === null) return false
  const e = value as Partial<CacheEntry>
  return (
    e.v === 1 &&
    (e.kind === 'record' || e.kind === 'not_found') &&
    typeof e.body === 'string' &&
    typeof e.etag === 'string' &&
    typeof e.storedAt === 'number' &&
    typeof e.freshUntil === 'number' &&
    typeof e.staleUntil === 'number' &&
    typeof e.staleIfErrorUntil === 'number'
  )
}
