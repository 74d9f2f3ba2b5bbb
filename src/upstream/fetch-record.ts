import type { Config } from '../config'
import { ApiError, type ProblemExtras, type ProviderAnswer } from '../http/errors'
import type { LookupKey, ProviderAdapter, UpstreamCall, UpstreamDeps } from '../providers/types'
import { reserveSlot } from './pacer'
import { readBounded } from './read-body'

/** A provider's successful answer: the body exactly as sent, its parsed record, pass-through headers. */
export type UpstreamRecord = {
  status: number
  body: string
  record: unknown
  headers: Record<string, string>
  /** The provider's `Content-Type`, replayed with the body. */
  contentType: string
}

/** Error bodies up to this size are replayed to mirror-route clients byte for byte; a larger one is the gateway's 502. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024
const RETRY_JITTER_MS = [50, 150] as const // the one retry waits a random time in this range
const MIN_ATTEMPT_MS = 100 // no retry when less than this would be left of the deadline
/**
 * Provider headers an answer keeps: rate limits, `Retry-After`, and request ids (the common names
 * here, plus any the adapter lists in `requestIdHeaders`). The provider's own `x-request-id` would
 * collide with the gateway's, so it travels as `x-upstream-request-id`.
 */
const PASSED_HEADER = /^(retry-after|x-ratelimit-[a-z-]+|ratelimit(-[a-z]+)?|request-id|x-amzn-requestid)$/i
const RENAMED_HEADER: Readonly<Record<string, string>> = { 'x-request-id': 'x-upstream-request-id' }

function passedHeaders(headers: Headers, adapter: ProviderAdapter): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    const lower = name.toLowerCase()
    if (PASSED_HEADER.test(lower) || adapter.requestIdHeaders?.includes(lower)) out[lower] = value
    else if (Object.hasOwn(RENAMED_HEADER, lower)) out[RENAMED_HEADER[lower] as string] = value
  })
  return out
}

function upstreamError(
  adapter: ProviderAdapter,
  status: number,
  error: unknown,
  headers: Record<string, string>,
  answer: ProviderAnswer | undefined,
): ApiError {
  const extras: ProblemExtras = { upstream_status: status }
  const traceId = adapter.traceId?.(error)
  if (traceId) extras.upstream_trace_id = traceId
  const name = adapter.name
  const withAnswer = answer ? { answer } : {}
  if (status === 404 || status === 410 || adapter.isNotFound?.(status, error)) {
    return new ApiError('asset_not_found', `${name} has no such asset, or it is not visible to the gateway's credentials.`, { extras, ...withAnswer })
  }
  if (status === 401 || status === 403) {
    return new ApiError('upstream_auth_failed', `${name} refused the gateway's own credentials.`, { extras, ...withAnswer })
  }
  if (status === 429) {
    return new ApiError('upstream_rate_limited', `${name} is rate limiting the gateway; retry later.`, {
      extras,
      headers: { ...headers, 'retry-after': headers['retry-after'] ?? '1' },
      ...withAnswer,
    })
  }
  if (status === 503 && headers['retry-after']) {
    return new ApiError('upstream_unavailable', `${name} is temporarily unavailable.`, { extras, headers, ...withAnswer })
  }
  if (status >= 500) {
    return new ApiError('upstream_error', `${name} failed with status ${status}.`, { extras, ...withAnswer })
  }
  return new ApiError('upstream_rejected', `${name} rejected the lookup with status ${status}.`, { extras, ...withAnswer })
}

/** True for what one retry may cure: a dropped connection, or a 502/503/504 without Retry-After. */
function retryable(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false
  if (err.code === 'upstream_unreachable' || err.code === 'upstream_body_incomplete') return true
  const status = err.extras.upstream_status
  return err.code === 'upstream_error' && (status === 502 || status === 503 || status === 504)
}

/** An error body as read: its bytes, when they arrived whole and within `ERROR_BODY_MAX_BYTES`. */
type ErrorBodySeen = { bytes: Uint8Array | undefined }

/**
 * Reads at most `ERROR_BODY_MAX_BYTES` of an error body (the adapter's client parses what is
 * kept, for its trace id) and notes the bytes in `seen` when the body arrived whole within that bound.
 */
function boundErrorBodies(fetcher: typeof fetch, seen: ErrorBodySeen): typeof fetch {
  return async (input, init) => {
    const response = await fetcher(input, init)
    if (response.ok) return response
    const chunks: Uint8Array[] = []
    let size = 0
    let whole = true
    if (response.body) {
      const reader = response.body.getReader()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          chunks.push(value)
          size += value.byteLength
          if (size > ERROR_BODY_MAX_BYTES) {
            whole = false
            break
          }
        }
      } catch {
        whole = false // a broken error body is still an error answer, but not one to replay
      }
      await reader.cancel().catch(() => {})
    }
    const bytes = new Uint8Array(await new Blob(chunks).slice(0, ERROR_BODY_MAX_BYTES).arrayBuffer())
    seen.bytes = whole ? bytes : undefined
    return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
}

async function attempt(adapter: ProviderAdapter, key: LookupKey, deps: UpstreamDeps, maxBytes: number): Promise<UpstreamRecord> {
  let call: UpstreamCall
  const seen: ErrorBodySeen = { bytes: undefined }
  try {
    call = await adapter.call(key, { ...deps, fetch: boundErrorBodies(deps.fetch, seen) })
  } catch (err) {
    if (err instanceof ApiError || deps.signal.aborted) throw err
    throw new ApiError('upstream_unreachable', `${adapter.name} could not be reached.`, { cause: err })
  }
  const { response } = call
  const headers = passedHeaders(response.headers, adapter)
  if (!response.ok) {
    const answer: ProviderAnswer | undefined = seen.bytes && {
      status: response.status,
      body: seen.bytes,
      contentType: response.headers.get('content-type') ?? undefined,
      headers,
    }
    throw upstreamError(adapter, response.status, call.error, headers, answer)
  }
  let body: string
  try {
    body = await readBounded(call.data, maxBytes)
  } catch (err) {
    if (err instanceof ApiError || deps.signal.aborted) throw err
    throw new ApiError('upstream_body_incomplete', `${adapter.name}'s answer broke off before its end.`, { cause: err })
  }
  const invalid = () =>
    new ApiError('upstream_invalid_response', `${adapter.name} answered with a body that is not the asset its spec promises.`, {
      extras: { upstream_status: response.status },
    })
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) throw invalid()
  let record: unknown
  try {
    record = JSON.parse(body)
  } catch {
    throw invalid()
  }
  if (!adapter.isRecord(record)) throw invalid()
  return { status: response.status, body, record, headers, contentType: response.headers.get('content-type') ?? 'application/json' }
}

/**
 * Looks `key` up at its provider within one deadline (`UPSTREAM_TIMEOUT_MS`) and maps every outcome:
 * a spec-shaped record, or an `ApiError` with a precise status and stable code. A dropped connection
 * or a 502/503/504 is retried once, after a random pause, and only while the deadline allows;
 * a `Retry-After` is answered to the client, never slept on.
 */
export async function fetchRecord(adapter: ProviderAdapter, key: LookupKey, deps: Omit<UpstreamDeps, 'signal'>, config: Config): Promise<UpstreamRecord> {
  const { upstreamTimeoutMs: timeoutMs, upstreamMaxBytes: maxBytes } = config
  const start = Date.now()
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = () => new ApiError('upstream_timeout', `${adapter.name} did not answer within ${timeoutMs} ms.`)
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(timeout())
    }, timeoutMs)
  })
  const within = <T>(work: Promise<T>) => Promise.race([work, deadline])
  /**
   * Waits for this call's slot under the account's (or this isolate's) budget: at most half the
   * deadline, the other half is the call's; a 429 when the slot lies further. A slot that passed
   * while this isolate was busy is not used: the next one is taken.
   */
  const paced = async () => {
    for (;;) {
      const maxWaitMs = timeoutMs - (Date.now() - start) - Math.max(MIN_ATTEMPT_MS, timeoutMs / 2)
      const slot = await reserveSlot(adapter.name, config.provider(adapter.name).maxRps, deps, maxWaitMs)
      const waitMs = slot.from - Date.now()
      if (waitMs > 0) await within(new Promise((resolve) => setTimeout(resolve, waitMs)))
      if (slot.until === undefined || Date.now() < slot.until) return
    }
  }
  try {
    for (let tries = 1; ; tries++) {
      try {
        await paced()
        return await within(attempt(adapter, key, { ...deps, signal: controller.signal }, maxBytes))
      } catch (err) {
        if (controller.signal.aborted) throw timeout()
        const pause = RETRY_JITTER_MS[0] + Math.random() * (RETRY_JITTER_MS[1] - RETRY_JITTER_MS[0])
        const left = timeoutMs - (Date.now() - start)
        if (tries > 1 || !retryable(err) || left < pause + MIN_ATTEMPT_MS) throw err
        await within(new Promise((resolve) => setTimeout(resolve, pause)))
      }
    }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
