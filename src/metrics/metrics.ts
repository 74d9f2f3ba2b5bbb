import type { Served } from '../cache/tiered-cache'
import type { IsolateState } from '../isolate-state'
import { LocalStats } from './local-stats'

/** What a data point is about: a lookup (mirror route), a followed redirect link, or a provider event applied. */
export type MetricKind = 'lookup' | 'redirect' | 'event'

/**
 * One data point. In Workers Analytics Engine (`METRICS`, dataset `asset_edge_metrics`) its fields
 * are, in this order: blob1 kind, blob2 provider, blob3 tier, blob4 code; double1 status, double2
 * upstream_status, double3 upstream_ms, double4 bytes; index1 provider. docs/operations.md queries them.
 */
export type MetricPoint = {
  kind: MetricKind
  provider: string
  /** Which tier answered: memory, edge, kv, upstream, stale (a stale copy), none (an error); for events, the effect. */
  tier: string
  /** The problem code of an error answer, or the event's type; empty otherwise. */
  code: string
  status: number
  /** The provider's status when it was called; 0 when it was not. */
  upstreamStatus: number
  /** Milliseconds spent on the provider call; 0 when it was not called. */
  upstreamMs: number
  /** Bytes of the record served; 0 when none. */
  bytes: number
}

/** The tier that answered a lookup. */
export function tierOf(served: Served): string {
  switch (served.kind) {
    case 'hit':
      return served.tier
    case 'fetched':
      return 'upstream'
    default:
      return 'stale'
  }
}

/** This isolate's counters behind `GET /admin/stats` (what `npm run stats` reads in dev). */
export function localStats(isolate: IsolateState): LocalStats {
  return isolate.slot('metrics:local', () => new LocalStats())
}

/**
 * Records one data point: one `writeDataPoint` call (it returns at once; the runtime sends it in
 * the background, so nothing awaits it) and a few counter updates in this isolate.
 */
export function recordMetric(env: Env, isolate: IsolateState, point: MetricPoint): void {
  localStats(isolate).add(point)
  try {
    env.METRICS?.writeDataPoint({
      blobs: [point.kind, point.provider, point.tier, point.code],
      doubles: [point.status, point.upstreamStatus, point.upstreamMs, point.bytes],
      indexes: [point.provider],
    })
  } catch {
    // A metrics failure never fails a request.
  }
}
