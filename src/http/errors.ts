import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

/**
 * Every error code the gateway answers with, and its status: one closed list. The gateway's
 * OpenAPI document lists the same codes (`Problem` in `openapi/asset-edge.yaml`); a test checks
 * both ways.
 */
export const ERROR_CODES = {
  invalid_id: 400,
  invalid_query: 400,
  unknown_query_parameter: 400,
  invalid_body: 400,
  unknown_field: 400,
  malformed_link_token: 400,
  webhook_malformed: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  webhook_unsigned: 401,
  webhook_bad_timestamp: 401,
  webhook_bad_signature: 401,
  webhook_stale: 401,
  webhook_replayed: 401,
  forbidden_scope: 403,
  invalid_link_signature: 403,
  asset_not_found: 404,
  asset_not_ready: 404,
  variant_not_available: 404,
  not_found: 404,
  subscription_not_found: 404,
  event_not_found: 404,
  too_many_subscriptions: 409,
  link_expired: 410,
  link_revoked: 410,
  body_too_large: 413,
  webhook_too_large: 413,
  invalid_include: 422,
  unknown_provider: 422,
  unknown_variant: 422,
  invalid_ttl: 422,
  invalid_destination: 422,
  unknown_event_type: 422,
  upstream_rate_limited: 429,
  internal_error: 500,
  links_not_configured: 500,
  upstream_auth_failed: 502,
  upstream_reauthorization_required: 502,
  upstream_error: 502,
  upstream_rejected: 502,
  upstream_invalid_response: 502,
  upstream_body_too_large: 502,
  upstream_body_incomplete: 502,
  upstream_unreachable: 502,
  media_url_refused: 502,
  upstream_unavailable: 503,
  key_store_unavailable: 503,
  provider_not_configured: 503,
  webhook_not_queued: 503,
  upstream_timeout: 504,
  not_cached: 504,
} as const satisfies Record<string, ContentfulStatusCode>

export type ErrorCode = keyof typeof ERROR_CODES

/** Extra members of a problem document (RFC 9457) beyond type/title/status/detail. */
export type ProblemExtras = {
  upstream_status?: number
  upstream_trace_id?: string
  allowed?: readonly string[]
  [member: string]: unknown
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/**
 * An error answer exactly as a provider sent it: what a mirror route replays (status, body bytes,
 * content type, and the allow-listed rate-limit and request-id headers).
 */
export type ProviderAnswer = {
  status: number
  body: Uint8Array
  contentType: string | undefined
  headers: Record<string, string>
}

/** The one error type of the gateway: a code from `ERROR_CODES` (which fixes the status) and a safe detail. */
export class ApiError extends HTTPException {
  readonly code: ErrorCode
  readonly detail: string
  readonly extras: ProblemExtras
  readonly headers: Record<string, string>
  /** The provider's own error answer behind this error, when the provider answered one: mirror routes replay it. */
  readonly answer: ProviderAnswer | undefined

  constructor(
    code: ErrorCode,
    detail: string,
    options: { extras?: ProblemExtras; headers?: Record<string, string>; cause?: unknown; answer?: ProviderAnswer } = {},
  ) {
    super(ERROR_CODES[code], { message: detail, cause: options.cause })
    this.code = code
    this.detail = detail
    this.extras = options.extras ?? {}
    this.headers = options.headers ?? {}
    this.answer = options.answer
  }

  override getResponse(): Response {
    return problemResponse(this.status, this.code, this.detail, this.extras, this.headers)
  }
}

/** Writes an `application/problem+json` answer. `type` is a stable URI naming the code. */
export function problemResponse(
  status: ContentfulStatusCode,
  code: string,
  detail: string,
  extras: ProblemExtras = {},
  headers: Record<string, string> = {},
): Response {
  const body = { type: `https://asset-edge.dev/problems/${code}`, title: TITLES[status] ?? 'Error', status, detail, code, ...extras }
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  })
}
