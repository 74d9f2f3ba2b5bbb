import { Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { type ServiceOptions, services } from './http/services'
import { ApiError, problemResponse } from './http/problem'
import { requestId } from './http/request-id'
import { accessLog, type LogFacts } from './http/access-log'
import { configuredSecrets, redactText } from './http/redact'
import { links } from './routes/links'
import { lookups } from './routes/lookups'
import { meta } from './routes/meta'
import { admin } from './routes/admin'
import { webhooks } from './routes/webhooks'
import { SANDBOX_PREFIX, sandboxApp } from './sandbox/app'

export type AppOptions = Partial<ServiceOptions>

/** Builds the gateway: request id, services, routes, and one problem+json error path. */
export function createApp(options: AppOptions = {}) {
  const app = new Hono<{ Bindings: Env; Variables: { requestId: string; log: LogFacts } }>()
  app.use(requestId())
  app.use(accessLog())
  app.use(services({ ...options, fetch: options.fetch ?? ((input, init) => fetch(input, init)) }))

  app.route('/', meta)
  // The fake providers answer only where the sandbox is switched on, never in production.
  app.all(`${SANDBOX_PREFIX}/*`, (c) => (c.env.SANDBOX === 'on' ? sandboxApp.fetch(c.req.raw, c.env) : c.notFound()))
  // Before `lookups`, which authenticates every path it matches: `/r/{token}` needs no key.
  app.route('/', links)
  app.route('/', admin)
  app.route('/', webhooks)
  app.route('/', lookups)

  app.notFound(() => problemResponse(404, 'not_found', 'No such route.'))
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      Object.assign(c.var.log ?? {}, { code: err.code, upstream_status: err.extras.upstream_status })
      return err.getResponse()
    }
    if (err instanceof HTTPException) return problemResponse(err.status, 'http_error', err.message || 'Request refused.')
    const error = redactText(String(err), configuredSecrets(c.env))
    console.error(JSON.stringify({ level: 'error', request_id: c.var.requestId, message: 'unhandled error', error }))
    return problemResponse(500, 'internal_error', `Unexpected error; quote request id ${c.var.requestId}.`)
  })
  return app
}
