import { DurableObject } from 'cloudflare:workers'
import { type Begin, Flights } from './flights'
import { type LeaseGrant, type LeaseRequest, SlotSchedule } from './schedule'
import type { FlightOutcome, HeldToken, MintOutcome, TokenAnswer } from './shared'

const TOKEN_KEY = 'token'
const MINT = 'mint'
/** Landed answers kept for lookups that began before they landed: 2 s, 256 of them, 8 MiB at most. */
const KEEP = { ms: 2000, entries: 256, bytes: 8 * 1024 * 1024 }

/**
 * The coordinator of one provider account (`idFromName("<provider>:<account>")`), shared by every
 * isolate in every location. It holds what must be consistent for the account as a whole:
 *
 * - the account's OAuth token, in transactional storage (refresh token included), with one mint
 *   at a time: the isolate that is told to mint does so and hands back the new state;
 * - the account's call budget (`SlotSchedule`), leased to isolates a few slots at a time;
 * - cold misses in flight, so concurrent misses of one key make one upstream call.
 *
 * It never calls a provider itself and knows none: tokens are opaque state, answers opaque data.
 * See docs/coordination.md.
 */
export class ProviderGate extends DurableObject<Env> {
  private readonly schedule = new SlotSchedule()
  private readonly flights = new Flights<FlightOutcome<unknown>>(1000, KEEP)
  private readonly mints = new Flights<MintOutcome>(1)
  private held: HeldToken | undefined

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    void ctx.blockConcurrencyWhile(async () => {
      this.held = await ctx.storage.get<HeldToken>(TOKEN_KEY)
    })
  }

  /** Call slots for the account's budget (see `SlotSchedule`). */
  lease(request: LeaseRequest): LeaseGrant {
    return this.schedule.lease(request, Date.now())
  }

  /**
   * A cold miss of `key`, from a lookup that began at `since` (ms): lead its upstream call, wait
   * for it with `follow`, or take the answer landed since the lookup began.
   */
  begin(key: string, ttlMs: number, since: number): Begin<FlightOutcome<unknown>> {
    return this.flights.begin(key, ttlMs, since)
  }

  /** The leader's answer for `key`; `undefined` when there is no flight or it ended without one. */
  follow(key: string): Promise<FlightOutcome<unknown> | undefined> {
    return this.flights.wait(key)
  }

  land(key: string, ticket: number, outcome: FlightOutcome<unknown> | undefined): void {
    // Only answers are kept for late lookups, never problems; their size bounds the gate's memory.
    const size = outcome && 'loaded' in outcome ? JSON.stringify(outcome.loaded).length : undefined
    this.flights.land(key, ticket, outcome, size)
  }

  /** A token good until at least `minValidUntil`: the held one, or a ticket to mint one (one minter at a time). */
  token(minValidUntil: number, ttlMs: number): TokenAnswer {
    if (this.held && this.held.validUntil > minValidUntil) return { kind: 'held', token: this.held }
    const begun = this.mints.begin(MINT, ttlMs)
    return begun.lead ? { kind: 'mint', ticket: begun.ticket, held: this.held } : { kind: 'wait' }
  }

  /** How the mint under way ends; `undefined` when none is, or its minter went away. */
  awaitToken(): Promise<MintOutcome | undefined> {
    return this.mints.wait(MINT)
  }

  /** The minter's result: a new token is stored before anyone hears of it. */
  async minted(ticket: number, outcome: MintOutcome): Promise<void> {
    if ('state' in outcome) {
      await this.ctx.storage.put(TOKEN_KEY, outcome)
      this.held = outcome
    }
    this.mints.land(MINT, ticket, outcome)
  }

  /** The provider refused the token valid until `validUntil`: keep its state (a refresh token), stop handing it out. */
  async forgetToken(validUntil: number): Promise<void> {
    if (!this.held || this.held.validUntil !== validUntil) return
    this.held = { state: this.held.state, validUntil: 0 }
    await this.ctx.storage.put(TOKEN_KEY, this.held)
  }
}
