/**
 * The answer to "may I make this call?": lead it (with a ticket to land it), or wait for the
 * leader — or take the answer a leader landed after the caller's lookup began (`landed`).
 */
export type Begin<R = unknown> = { lead: true; ticket: number } | { lead: false; landed?: R }

type Flight<R> = { ticket: number; waiters: ((result: R | undefined) => void)[]; timer: ReturnType<typeof setTimeout> }
type Landed<R> = { result: R; at: number; size: number }

/** How long, how many and how many bytes of landed answers are kept for lookups that began before them. */
export type KeepLimits = { ms: number; entries: number; bytes: number }
const NO_KEEPING: KeepLimits = { ms: 0, entries: 0, bytes: 0 }

/**
 * Calls in flight by key, inside the gate: the first caller leads, later ones wait for what the
 * leader lands, and every waiter gets that one answer. Bounded in time (a flight not landed by its
 * deadline answers its waiters `undefined`, and they call themselves) and in memory (beyond
 * `maxFlights` a caller leads untracked). A landed answer is kept briefly (`keep`) for callers
 * whose lookup began before it landed — a lookup that began later (after a purge, say) never gets it.
 */
export class Flights<R> {
  private readonly flights = new Map<string, Flight<R>>()
  private readonly landed = new Map<string, Landed<R>>()
  private landedBytes = 0
  private tickets = 0

  constructor(
    private readonly maxFlights = 1000,
    private readonly keep: KeepLimits = NO_KEEPING,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.flights.size
  }

  /** `since`: when the caller's lookup began (an answer landed since then is as good as joining). */
  begin(key: string, ttlMs: number, since = Number.POSITIVE_INFINITY): Begin<R> {
    if (this.flights.has(key)) return { lead: false }
    this.expire()
    const kept = this.landed.get(key)
    if (kept && kept.at >= since) return { lead: false, landed: kept.result }
    const ticket = ++this.tickets
    if (this.flights.size >= this.maxFlights) return { lead: true, ticket: 0 } // untracked: nobody can join it
    const timer = setTimeout(() => this.land(key, ticket, undefined), ttlMs)
    this.flights.set(key, { ticket, waiters: [], timer })
    return { lead: true, ticket }
  }

  /** Waits for the flight of `key`; `undefined` when there is none, or it ended without an answer. */
  wait(key: string): Promise<R | undefined> {
    const flight = this.flights.get(key)
    if (!flight) return Promise.resolve(undefined)
    return new Promise((resolve) => flight.waiters.push(resolve))
  }

  /** Ends the flight led with `ticket` (a stale ticket lands nothing) and answers every waiter; keeps an answer of `size` bytes. */
  land(key: string, ticket: number, result: R | undefined, size?: number): void {
    const flight = this.flights.get(key)
    if (!flight || flight.ticket !== ticket) return
    this.flights.delete(key)
    clearTimeout(flight.timer)
    for (const resolve of flight.waiters) resolve(result)
    this.drop(key)
    if (result !== undefined && size !== undefined && this.keep.entries > 0 && size <= this.keep.bytes) {
      this.landed.set(key, { result, at: this.now(), size })
      this.landedBytes += size
      this.expire()
    }
  }

  private drop(key: string): void {
    const kept = this.landed.get(key)
    if (!kept) return
    this.landed.delete(key)
    this.landedBytes -= kept.size
  }

  /** Forgets answers past their time, then the oldest while over the entry or byte bound. */
  private expire(): void {
    const oldest = this.now() - this.keep.ms
    for (const [key, kept] of this.landed) {
      const over = this.landed.size > this.keep.entries || this.landedBytes > this.keep.bytes
      if (kept.at >= oldest && !over) break
      this.drop(key)
    }
  }
}
