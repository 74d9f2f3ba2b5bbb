import type { IsolateState } from '../isolate-state'

/**
 * Spaces one provider's calls from this isolate to at most `rps` a second, bursts of up to `rps`
 * included (a token bucket). Some providers allow only a few calls a second per account: caching
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

/** This isolate's pacer for `provider` at `rps` calls a second; none when `rps` is 0. */
export function pacerFor(isolate: IsolateState, provider: string, rps: number): Pacer | undefined {
  if (rps <= 0) return undefined
  const memoKey = `${provider}/${rps}`
  let pacer = isolate.pacers.get(memoKey)
  if (!pacer) {
    pacer = new Pacer(rps)
    isolate.pacers.set(memoKey, pacer)
  }
  return pacer
}
