import type { ProviderName } from '../providers/types'

/**
 * Spaces one provider's calls from this isolate to at most `rps` a second, bursts of up to `rps`
 * included (a token bucket). Frame.io, for one, allows 5 asset reads a second per account: caching
 * and coalescing keep repeats away, and this keeps a burst of distinct cold ids under the limit
 * instead of turning most of it into the provider's 429s. Per isolate: isolates do not share it.
 */
export class Pacer {
  private tokens: number
  private last: number

  constructor(
    readonly rps: number,
    now = Date.now(),
  ) {
    this.tokens = rps
    this.last = now
  }

  /** Takes the next call's slot: the ms to wait before making the call (0: now). */
  reserve(now: number): number {
    this.tokens = Math.min(this.rps, this.tokens + ((now - this.last) / 1000) * this.rps)
    this.last = now
    this.tokens -= 1
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.rps) * 1000)
  }

  /** Gives back a slot taken but not used. */
  release(): void {
    this.tokens = Math.min(this.rps, this.tokens + 1)
  }
}

const pacers = new Map<string, Pacer>()

/** This isolate's pacer for `provider`, from `UPSTREAM_MAX_RPS_<PROVIDER>`; none when unset or 0. */
export function pacerFor(provider: ProviderName, env: object): Pacer | undefined {
  const rps = Number((env as Record<string, unknown>)[`UPSTREAM_MAX_RPS_${provider.toUpperCase()}`] ?? 0)
  if (!Number.isFinite(rps) || rps <= 0) return undefined
  const memoKey = `${provider}/${rps}`
  let pacer = pacers.get(memoKey)
  if (!pacer) pacers.set(memoKey, (pacer = new Pacer(rps)))
  return pacer
}

/** Forgets every pacer (tests). */
export function resetPacers(): void {
  pacers.clear()
}
