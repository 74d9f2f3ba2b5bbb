import { bodyLimit } from 'hono/body-limit'
import { ApiError, type ErrorCode } from './errors'

/**
 * Refuses a body over `maxBytes` with a 413 problem: by its `Content-Length` before reading, or
 * while reading (Hono's `bodyLimit` stops at the limit), and cancels the rest of the upload.
 */
export function limitBody(maxBytes: number, code: Extract<ErrorCode, 'body_too_large' | 'webhook_too_large'> = 'body_too_large') {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      void c.req.raw.body?.cancel().catch(() => {})
      throw new ApiError(code, `The body exceeds ${maxBytes} bytes.`)
    },
  })
}

/** The request body as JSON, or a 400 `invalid_body`. */
export async function jsonBody(req: Request): Promise<unknown> {
  try {
    return JSON.parse(await req.text())
  } catch {
    throw new ApiError('invalid_body', 'The body is not JSON.')
  }
}
