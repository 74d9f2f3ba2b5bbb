import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'

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
  410: 'Gone',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

/** The one error type of the gateway: a status, a stable machine-readable code and a safe detail. */
export class ApiError extends HTTPException {
  readonly code: string
  readonly detail: string
  readonly extras: ProblemExtras
  readonly headers: Record<string, string>

  constructor(
    status: ContentfulStatusCode,
    code: string,
    detail: string,
    options: { extras?: ProblemExtras; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(status, { message: detail, cause: options.cause })
    this.code = code
    this.detail = detail
    this.extras = options.extras ?? {}
    this.headers = options.headers ?? {}
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
  const body = {
    type: `https://asset-edge.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extras,
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
  })
}
