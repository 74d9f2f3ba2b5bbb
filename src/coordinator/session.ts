import { Lru } from '../cache/lru'
import { encodeBase64url } from '../encoding'
import { ApiError } from '../http/errors'
import type { IsolateState } from '../isolate-state'
import type { ProviderGate } from './gate'
import type { LeaseGrant } from './schedule'
import { type FlightOutcome, type HeldToken, sharedError, shareError } from './shared'

/** How the gate took part in a load, for `Server-Timing` and the access log. */
export type GateNote = 'fallback'

/** The gate could not be asked in time: the caller falls back to what one isolate does alone. */
export class GateUnavailable extends Error {}

/** The gate's methods as a caller sees them over RPC (plain promises of structured-clonable values). */
type GateApi = {
  [K in 'lease' | 'begin' | 'follow' | 'land' | 'token' | 'awaitToken' | 'minted' | 'forgetToken']: (
    ...args: Parameters<ProviderGate[K]>
  ) => Promise<Awaited<ReturnType<ProviderGate[K]>>>
}

/** A call may start from `from` until `until` (ms, this isolate's clock). */
export type Slot = { from: number; until: number }
const FALLBACK_LOG_EVERY_MS = 10_000

/** Slots this isolate leased from its account's gate and has not used yet, and the lease under way. */
class SlotPool {
  slots: Slot[] = []
  leasing: Promise<void> | undefined

  /** The earliest slot still usable at `now` that starts within `maxWaitMs`, taken; or undefined. */
  take(now: number, maxWaitMs: number): Slot | undefined {
    this.slots = this.slots.filter((slot) => slot.until > now)
    const index = this.slots.findIndex((slot) => slot.from - now <= maxWaitMs)
    return index < 0 ? undefined : this.slots.splice(index, 1)[0]
  }

  /** Adds a grant: measured from when it was asked for (`sent`) and when it came (`received`), never longer than the gate meant. */
  add(grant: LeaseGrant, sent: number, received: number): void {
    for (const start of grant.startsMs) {
      const slot = { from: received + start, until: sent + start + grant.validMs }
      if (slot.until > slot.from) this.slots.push(slot)
    }
    this.slots.sort((a, b) => a.from - b.from)
  }
}

/** Per isolate: slot pools by gate name, and when a fallback was last logged per provider. */
type GateMemo = { pools: Map<string, SlotPool>; loggedAt: Map<string, number>; accounts: Lru<string, Promise<string>> }
const memoOf = (isolate: IsolateState) =>
  isolate.slot<GateMemo>('coordinator:gate', () => ({
    pools: new Map(),
    loggedAt: new Map(),
    accounts: new Lru({ max: 64 }),
  }))

/** A short, non-reversible name for the account a credential belongs to (never the credential). */
export function accountOf(isolate: IsolateState, credential: string): Promise<string> {
  const { accounts } = memoOf(isolate)
  let account = accounts.get(credential)
  if (!account) {
    account = crypto.subtle.digest('SHA-256', new TextEncoder().encode(credential)).then((digest) => encodeBase64url(new Uint8Array(digest).slice(0, 9)))
    accounts.set(credential, account)
  }
  return account
}

export type GateSessionOptions = {
  namespace: DurableObjectNamespace<ProviderGate>
  /** `<scope><provider>:<account>`: the object's name. */
  name: string
  provider: string
  isolate: IsolateState
  /** Deadline for one short call to the object, ms. */
  timeoutMs: number
  /** Deadline of one upstream call, ms: how long a follower or a mint may take. */
  upstreamTimeoutMs: number
  /** Cold misses of one key join one upstream call. */
  singleFlight: boolean
  waitUntil: (promise: Promise<unknown>) => void
}

/**
 * One load's access to its provider account's gate. Every call to the object has a deadline; a
 * failed or late one marks the session `fallback` (logged, and shown in `Server-Timing`) and the
 * caller does what one isolate does alone: its own pacer, its own token, its own upstream call.
 */
export class GateSession {
  note: GateNote | undefined
  private readonly pool: SlotPool

  constructor(private readonly options: GateSessionOptions) {
    const { pools } = memoOf(options.isolate)
    let pool = pools.get(options.name)
    if (!pool) {
      pool = new SlotPool()
      pools.set(options.name, pool)
    }
    this.pool = pool
  }

  get singleFlight(): boolean {
    return this.options.singleFlight
  }

  get fellBack(): boolean {
    return this.note === 'fallback'
  }

  /** Calls the object within `timeoutMs`; a failure or a late answer is a fallback. */
  private async call<T>(op: string, work: (gate: GateApi) => Promise<T>, timeoutMs = this.options.timeoutMs): Promise<T> {
    const { namespace, name } = this.options
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new GateUnavailable(`no answer within ${timeoutMs} ms`)), timeoutMs)
      })
      return await Promise.race([work(namespace.get(namespace.idFromName(name)) as unknown as GateApi), late])
    } catch (err) {
      this.fallback(op, err)
      throw err instanceof GateUnavailable ? err : new GateUnavailable(String(err))
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }

  /** Marks this load as fallen back, and says so in the log (once per provider per 10 s per isolate). */
  fallback(op: string, err: unknown): void {
    this.note = 'fallback'
    const { loggedAt } = memoOf(this.options.isolate)
    const now = Date.now()
    if (now - (loggedAt.get(this.options.provider) ?? 0) < FALLBACK_LOG_EVERY_MS) return
    loggedAt.set(this.options.provider, now)
    const error = err instanceof Error ? err.message : String(err)
    console.warn(
      JSON.stringify({
        level: 'warn',
        message: 'provider gate unavailable: this isolate falls back to its own pacing, token and calls',
        provider: this.options.provider,
        op,
        error,
      }),
    )
  }

  /**
   * A call slot under the account's budget of `limit` calls a second: when it starts and until
   * when a call may start in it (this isolate's clock), or a 429 `ApiError` when no slot starts
   * within `maxWaitMs`. `GateUnavailable` when the object cannot be asked.
   */
  async slot(limit: number, maxWaitMs: number): Promise<Slot> {
    const pool = this.pool
    let leased = false
    let retryAfterMs = 1000
    for (;;) {
      const slot = pool.take(Date.now(), maxWaitMs)
      if (slot) return slot
      if (pool.leasing) {
        // Another lookup of this isolate is leasing: its spare slot may be ours. Its failure is ours too.
        await pool.leasing.catch((err: unknown) => {
          this.fallback('lease', err)
          throw new GateUnavailable(String(err))
        })
        continue
      }
      if (leased) break
      leased = true
      pool.leasing = (async () => {
        const sent = Date.now()
        const grant = await this.call('lease', (gate) => gate.lease({ limit, want: Math.min(limit, 2), maxWaitMs }))
        pool.add(grant, sent, Date.now())
        if (grant.retryAfterMs > 0) retryAfterMs = grant.retryAfterMs
      })().finally(() => {
        pool.leasing = undefined
      })
      await pool.leasing
    }
    return rateLimited(this.options.provider, limit, retryAfterMs)
  }

  /**
   * Runs `run` as the one upstream call for `key` across isolates, or waits for the isolate that
   * leads it and answers with its result (`joined`), or takes the result a leader landed after
   * `since` (when this lookup began). Without the object: `run` here.
   */
  async join<L>(key: string, since: number, run: () => Promise<L>): Promise<{ loaded: L; joined: boolean }> {
    const flightTtlMs = this.options.upstreamTimeoutMs + 1000
    let begun: Awaited<ReturnType<ProviderGate['begin']>>
    try {
      begun = await this.call('begin', (gate) => gate.begin(key, flightTtlMs, since))
    } catch {
      return { loaded: await run(), joined: false }
    }
    if (!begun.lead && begun.landed && 'loaded' in begun.landed) return { loaded: begun.landed.loaded as L, joined: true }
    if (begun.lead) {
      const { ticket } = begun
      const land = (outcome: FlightOutcome<L> | undefined) => {
        if (ticket !== 0) this.options.waitUntil(this.call('land', (gate) => gate.land(key, ticket, outcome)).catch(() => {}))
      }
      try {
        const loaded = await run()
        land({ loaded })
        return { loaded, joined: false }
      } catch (err) {
        land(err instanceof ApiError ? { error: shareError(err) } : undefined)
        throw err
      }
    }
    let outcome: FlightOutcome<unknown> | undefined
    try {
      outcome = await this.call('follow', (gate) => gate.follow(key), flightTtlMs + this.options.timeoutMs)
    } catch {
      outcome = undefined
    }
    if (outcome && 'loaded' in outcome) return { loaded: outcome.loaded as L, joined: true }
    if (outcome) throw sharedError(outcome.error)
    return { loaded: await run(), joined: false } // the leader went away: call here
  }

  /**
   * The account's token, good until at least `minValidUntil`: the one the object holds, else one
   * minted here by `mint` (given the held state, e.g. a rotated refresh token) while every other
   * isolate waits for it. `GateUnavailable` when the object cannot be asked.
   */
  async sharedToken(minValidUntil: number, mint: (held: HeldToken | undefined) => Promise<HeldToken>): Promise<HeldToken> {
    const mintTtlMs = this.options.upstreamTimeoutMs + 1000
    for (let round = 0; round < 2; round++) {
      const answer = await this.call('token', (gate) => gate.token(minValidUntil, mintTtlMs))
      if (answer.kind === 'held') return answer.token
      if (answer.kind === 'mint') {
        const { ticket } = answer
        let minted: HeldToken
        try {
          minted = await mint(answer.held)
        } catch (err) {
          const error = err instanceof ApiError ? shareError(err) : shareError(new ApiError('upstream_auth_failed', 'The token could not be minted.'))
          this.options.waitUntil(this.call('minted', (gate) => gate.minted(ticket, { error })).catch(() => {}))
          throw err
        }
        // Stored before anyone else hears of it; a lost answer here only costs a mint later.
        await this.call('minted', (gate) => gate.minted(ticket, minted)).catch(() => {})
        return minted
      }
      const outcome = await this.call('awaitToken', (gate) => gate.awaitToken(), mintTtlMs + this.options.timeoutMs)
      if (outcome && 'state' in outcome) return outcome
      if (outcome) throw sharedError(outcome.error)
      // the minter went away: ask again (the next answer may be "mint")
    }
    throw new GateUnavailable('no token after two rounds')
  }

  /** The provider refused the token good until `validUntil`: the object stops handing it out. */
  async forgetToken(validUntil: number): Promise<void> {
    await this.call('forgetToken', (gate) => gate.forgetToken(validUntil)).catch(() => {})
  }
}

function rateLimited(provider: string, limit: number, retryAfterMs: number): never {
  throw new ApiError(
    'upstream_rate_limited',
    `The gateway holds ${provider} to ${limit} calls a second for the account, and the next free one is past this lookup's deadline.`,
    { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } },
  )
}
