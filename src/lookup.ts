import type { Upstream } from './http/services'
import type { LookupKey, ProviderAdapter } from './providers/types'
import { fetchRecord, type UpstreamRecord } from './upstream/fetch-record'

/** What a lookup needs beyond the key: the upstream services and the request's execution context. */
export type LookupDeps = { upstream: Upstream; ctx: WaitUntil }

/** The part of the execution context a lookup uses: work that outlives the response. */
export type WaitUntil = { waitUntil(promise: Promise<unknown>): void }

/**
 * The one way to answer "what is asset `key`?": the record as the provider sent it, or an
 * `ApiError` (404 for an unknown asset, 5xx for upstream trouble). Routes, redirect links and
 * re-warming all go through here, so they share its caching.
 */
export async function lookupRecord(deps: LookupDeps, adapter: ProviderAdapter, key: LookupKey): Promise<UpstreamRecord> {
  return fetchRecord(adapter, key, deps.upstream)
}
