/** What a lease asks for: the account's limit, how many slots, and how far ahead a slot may lie. */
export type LeaseRequest = { limit: number; want: number; maxWaitMs: number }

/**
 * Slots granted by the gate, as offsets from the moment the gate answered (clocks of the gate and
 * of an isolate need not agree): slot `i` may start a call from `startsMs[i]` until
 * `startsMs[i] + validMs`. None granted: the next free slot is `retryAfterMs` away.
 */
export type LeaseGrant = { startsMs: number[]; validMs: number; retryAfterMs: number }

/** How long a granted slot stays usable: short, since it is spacing the budget pays for. */
export const SLOT_VALID_MS = 200
const WINDOW_MS = 1000

/**
 * One account's call budget: at most `limit` calls start in any one-second window, whichever
 * isolates make them. Slots are handed out in order, and slot `i + limit` starts no sooner than
 * one window plus one validity period after slot `i` — so even a call made at the very end of its
 * slot's validity keeps the window. The price: a sustained rate of `limit` per 1.2 s.
 * Pure (the gate passes its clock), so it is tested without an object.
 */
export class SlotSchedule {
  private limit = 0
  /** Starts of the last `limit` slots granted, oldest first. */
  private starts: number[] = []

  lease({ limit, want, maxWaitMs }: LeaseRequest, now: number): LeaseGrant {
    if (limit !== this.limit) {
      this.limit = limit // a changed limit starts a new schedule
      this.starts = this.starts.slice(-limit)
    }
    const startsMs: number[] = []
    let next = this.nextStart(now)
    while (startsMs.length < want && next - now <= maxWaitMs) {
      this.starts.push(next)
      if (this.starts.length > limit) this.starts.shift()
      startsMs.push(next - now)
      next = this.nextStart(now)
    }
    return { startsMs, validMs: SLOT_VALID_MS, retryAfterMs: startsMs.length > 0 ? 0 : next - now }
  }

  private nextStart(now: number): number {
    const last = this.starts[this.starts.length - 1] ?? Number.NEGATIVE_INFINITY
    const gate = this.starts.length >= this.limit ? (this.starts[this.starts.length - this.limit] ?? 0) + WINDOW_MS + SLOT_VALID_MS : Number.NEGATIVE_INFINITY
    return Math.max(now, last, gate)
  }
}
