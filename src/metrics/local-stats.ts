import type { MetricPoint } from './metrics'

const LATENCY_SAMPLES = 1024 // per provider: the most recent upstream times

/** A nearest-rank quantile of sorted values; 0 when there are none. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0
}

/**
 * Counters of one isolate, answering the same three questions as the Analytics Engine SQL in
 * docs/operations.md: hit ratio by tier, upstream latency per provider, error rate per provider.
 * For development (`npm run stats`): in production each isolate holds only its own share.
 */
export class LocalStats {
  readonly since = new Date().toISOString()
  private readonly tiers = new Map<string, number>()
  private readonly lookups = new Map<string, { total: number; errors: number }>()
  private readonly latency = new Map<string, number[]>()
  private redirects = 0
  private events = 0

  add(point: MetricPoint): void {
    if (point.kind === 'redirect') this.redirects += 1
    if (point.kind === 'event') this.events += 1
    if (point.kind !== 'lookup') return
    this.tiers.set(point.tier, (this.tiers.get(point.tier) ?? 0) + 1)
    const counts = this.lookups.get(point.provider) ?? { total: 0, errors: 0 }
    counts.total += 1
    if (point.status >= 500) counts.errors += 1
    this.lookups.set(point.provider, counts)
    if (point.upstreamStatus > 0) {
      const samples = this.latency.get(point.provider) ?? []
      samples.push(point.upstreamMs)
      if (samples.length > LATENCY_SAMPLES) samples.shift()
      this.latency.set(point.provider, samples)
    }
  }

  /** The report `GET /admin/stats` answers (schema `Stats` in the gateway's spec). */
  report() {
    const total = [...this.tiers.values()].reduce((a, b) => a + b, 0)
    return {
      since: this.since,
      hit_ratio_by_tier: [...this.tiers]
        .map(([tier, lookups]) => ({ tier, lookups, ratio: total ? lookups / total : 0 }))
        .sort((a, b) => b.lookups - a.lookups),
      upstream_latency: [...this.latency].map(([provider, samples]) => {
        const sorted = [...samples].sort((a, b) => a - b)
        return { provider, calls: samples.length, p50_ms: quantile(sorted, 0.5), p99_ms: quantile(sorted, 0.99) }
      }),
      error_rate: [...this.lookups].map(([provider, { total: lookups, errors }]) => ({ provider, lookups, errors, rate: lookups ? errors / lookups : 0 })),
      redirects: this.redirects,
      events: this.events,
    }
  }
}
