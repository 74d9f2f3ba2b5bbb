import { GateUnavailable } from '../coordinator/session'
import { ApiError } from '../http/errors'
import type { IsolateState } from '../isolate-state'
import type { UpstreamDeps } from '../providers/types'

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

/** When one call may start: from `from` (ms, this isolate's clock), and before `until` if bounded. */
export type CallSlot = { from: number; until?: number }

/**
 * Takes the slot of one call to `provider` under its limit of `rps` calls a second: from the
 * account's gate when there is one (the limit then holds across isolates; the call must start
 * before the slot's `until`), else from this isolate's pacer (also when the gate cannot be asked:
 * the load falls back). A 429 `upstream_rate_limited` with `Retry-After` when the slot starts
 * past `maxWaitMs`.
 */
export async function reserveSlot(provider: string, rps: number, deps: Pick<UpstreamDeps, 'isolate' | 'gate'>, maxWaitMs: number): Promise<CallSlot> {
  const now = Date.now()
  if (rps <= 0) return { from: now }
  if (deps.gate && !deps.gate.fellBack) {
    try {
      return await deps.gate.slot(rps, maxWaitMs)
    } catch (err) {
      if (!(err instanceof GateUnavailable)) throw err
    }
  }
  const pacer = pacerFor(deps.isolate, provider, rps) as Pacer
  const waitMs = pacer.reserve(now)
  if (waitMs > 0 && waitMs > maxWaitMs) {
    pacer.release()
    throw new ApiError(
      'upstream_rate_limited',
      `The gateway holds ${provider} to ${rps} calls a second, and the next free one is past this lookup's deadline.`,
      {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))) },
      },
    )
  }
  return { from: now + waitMs }
}
