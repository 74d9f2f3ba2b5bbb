import { createMiddleware } from 'hono/factory'

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/

/** The request's id: the caller's `X-Request-Id` when it is well formed, else a new one. */
export function requestIdOf(incoming: string | null | undefined): string {
  return incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID()
}

/** Gives every request an id (the caller's `X-Request-Id` when it is well formed) and echoes it. */
export const requestId = () =>
  createMiddleware<{ Variables: { requestId: string } }>(async function requestId(c, next) {
    const id = requestIdOf(c.req.header('x-request-id'))
    c.set('requestId', id)
    await next()
    c.res.headers.set('x-request-id', id)
  })
