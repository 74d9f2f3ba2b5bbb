import { ApiError, type ProblemExtras } from '../http/problem'
import type { LookupKey, ProviderAdapter, UpstreamDeps } from '../providers/types'
import { readBounded } from './read-body'

/** A provider's successful answer: the body exactly as sent, its parsed record, pass-through headers. */
export type UpstreamRecord = {
  status: number
  body: string
  record: unknown
  headers: Record<string, string>
}

const DEFAULT_TIMEOUT_MS = 5000
const DEFAULT_MAX_BYTES = 1024 * 1024
const PASSED_HEADER = /^(x-ratelimit-[a-z-]+|retry-after)$/i

/** Reads a positive integer setting, falling back when it is absent or malformed. */
export function intSetting(value: string | undefined, fallback: number): number {
  const n = Number(value)
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback
}

function passedHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {}
  headers.forEach((value, name) => {
    if (PASSED_HEADER.test(name)) out[name.toLowerCase()] = value
  })
  return out
}

function upstreamError(adapter: ProviderAdapter, status: number, error: unknown, headers: Record<string, string>): ApiError {
  const extras: ProblemExtras = { upstream_status: status }
  const traceId = adapter.traceId?.(error)
  if (traceId) extras.upstream_trace_id = traceId
  const name = adapter.name
  if (status === 404 || status === 410 || adapter.isNotFound?.(status, error)) {
    return new ApiError(404, 'asset_not_found', `${name} has no such asset, or it is not visible to the gateway's credentials.`, { extras })
  }
  if (status === 401 || status === 403) {
    return new ApiError(502, 'upstream_auth_failed', `${name} refused the gateway's own credentials.`, { extras })
  }
  if (status === 429) {
    return new ApiError(429, 'upstream_rate_limited', `${name} is rate limiting the gateway; retry later.`, {
      extras,
      headers: { ...headers, 'retry-after': headers['retry-after'] ?? '1' },
    })
  }
  if (status === 503 && headers['retry-after']) {
    return new ApiError(503, 'upstream_unavailable', `${name} is temporarily unavailable.`, { extras, headers })
  }
  if (status >= 500) {
    return new ApiError(502, 'upstream_error', `${name} failed with status ${status}.`, { extras })
  }
  return new ApiError(502, 'upstream_rejected', `${name} rejected the lookup with status ${status}.`, { extras })
}

/**
 * Makes one upstream call for `key` within `UPSTREAM_TIMEOUT_MS` and maps every outcome:
 * a spec-shaped record, or an `ApiError` with a precise status and stable code.
 */
export async function fetchRecord(
  adapter: ProviderAdapter,
  key: LookupKey,
  deps: Omit<UpstreamDeps, 'signal'>,
): Promise<UpstreamRecord> {
  const timeoutMs = intSetting(deps.env.UPSTREAM_TIMEOUT_MS, DEFAULT_TIMEOUT_MS)
  const maxBytes = intSetting(deps.env.UPSTREAM_MAX_BYTES, DEFAULT_MAX_BYTES)
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort()
      reject(new ApiError(504, 'upstream_timeout', `${adapter.name} did not answer within ${timeoutMs} ms.`))
    }, timeoutMs)
  })
  try {
    const call = await Promise.race([adapter.call(key, { ...deps, signal: controller.signal }), deadline])
    const { response } = call
    const headers = passedHeaders(response.headers)
    if (!response.ok) throw upstreamError(adapter, response.status, call.error, headers)
    const body = await Promise.race([readBounded(call.data, maxBytes), deadline])
    const invalid = () =>
      new ApiError(502, 'upstream_invalid_response', `${adapter.name} answered with a body that is not the asset its spec promises.`, {
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
    return { status: response.status, body, record, headers }
  } catch (err) {
    if (err instanceof ApiError) throw err
    if (controller.signal.aborted) {
      throw new ApiError(504, 'upstream_timeout', `${adapter.name} did not answer within ${timeoutMs} ms.`)
    }
    throw new ApiError(502, 'upstream_unreachable', `${adapter.name} could not be reached.`, { cause: err })
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}
