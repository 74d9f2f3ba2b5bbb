import { createMiddleware } from 'hono/factory'

const INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/

/** Gives every request an id (the caller's `X-Request-Id` when it is well formed) and echoes it. */
export const requestId = () =>
  createMiddleware<{ Variables: { requestId: string } }>(async function requestId(c, next) {
    const incoming = c.req.header('x-request-id')
    const id = incoming && INCOMING_ID.test(incoming) ? incoming : crypto.randomUUID()
    c.set('requestId', id)
    await next()
    c.res.headers.set('x-request-id', id)
  })
