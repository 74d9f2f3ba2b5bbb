import { ApiError, type ErrorCode, type ProblemExtras } from '../http/errors'

/** An `ApiError` as it crosses to the gate and back: every joiner answers the same problem. */
export type SharedError = { code: ErrorCode; detail: string; extras: ProblemExtras; headers: Record<string, string> }

export function shareError(err: ApiError): SharedError {
  return { code: err.code, detail: err.detail, extras: err.extras, headers: err.headers }
}

export function sharedError(shared: SharedError): ApiError {
  return new ApiError(shared.code, shared.detail, { extras: { ...shared.extras }, headers: { ...shared.headers } })
}

/** A token held for the account: opaque state (its source reads it) and until when it is good. */
export type HeldToken = { state: unknown; validUntil: number }

/** How a mint ended: a new token, or the problem the minter answered. */
export type MintOutcome = HeldToken | { error: SharedError }

/** The gate's answer to "a token good until at least …": the held one, mint one, or wait for the mint under way. */
export type TokenAnswer = { kind: 'held'; token: HeldToken } | { kind: 'mint'; ticket: number; held: HeldToken | undefined } | { kind: 'wait' }

/** What a cold miss's leader lands: the loaded entry and its headers (structured-clonable), or the problem. */
export type FlightOutcome<L> = { loaded: L } | { error: SharedError }
