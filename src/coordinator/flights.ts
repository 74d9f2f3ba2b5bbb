/** The answer to "may I make this call?": lead it (with a ticket to land it), or wait for the leader. */
export type Begin = { lead: true; ticket: number } | { lead: false }

type Flight<R> = { ticket: number; waiters: ((result: R | undefined) => void)[]; timer: ReturnType<typeof setTimeout> }

/**
 * Calls in flight by key, inside the gate: the first caller leads, later ones wait for what the
 * leader lands, and every waiter gets that one answer. Bounded in time (a flight not landed by its
 * deadline answers its waiters `undefined`, and they call themselves) and in memory (beyond
 * `maxFlights` a caller leads untracked). Nothing is kept after landing: a late caller reads the
 * cache tiers the leader writes.
 */
export class Flights<R> {
  private readonly flights = new Map<string, Flight<R>>()
  private tickets = 0

  constructor(private readonly maxFlights = 1000) {}

  get size(): number {
    return this.flights.size
  }

  begin(key: string, ttlMs: number): Begin {
    if (this.flights.has(key)) return { lead: false }
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

  /** Ends the flight led with `ticket` (a stale ticket lands nothing) and answers every waiter. */
  land(key: string, ticket: number, result: R | undefined): void {
    const flight = this.flights.get(key)
    if (!flight || flight.ticket !== ticket) return
    this.flights.delete(key)
    clearTimeout(flight.timer)
    for (const resolve of flight.waiters) resolve(result)
  }
}
