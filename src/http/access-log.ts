import { createMiddleware } from 'hono/factory'
import { configuredSecrets, redactText, redactUrl } from './redact'

/** What routes tell the access log beyond the response itself. */
export type LogFacts = { provider?: string; code?: string; upstream_status?: number }

/**
 * One JSON line per request: request id, route, provider, cache status, upstream status and time,
 * duration; credentials, gateway keys, link tokens and signed-URL secrets redacted. Written after
 * the answer, through `waitUntil`, so a cache hit does not wait on it.
 */
export const accessLog = () =>
  createMiddleware<{ Bindings: Env; Variables: { requestId: string; log: LogFacts } }>(async function accessLog(c, next) {
    const start = Date.now()
    c.set('log', {})
    await next()
    const facts = c.var.log
    const timing = c.res.headers.get('server-timing') ?? ''
    const upstreamMs = /upstream;dur=([\d.]+)/.exec(timing)?.[1]
    const url = new URL(c.req.url)
    const line = {
      level: c.res.status >= 500 ? 'error' : 'info',
      request_id: c.var.requestId,
      method: c.req.method,
      route: c.req.routePath,
      path: redactUrl(url.pathname + url.search),
      status: c.res.status,
      provider: facts.provider,
      code: facts.code,
      cache_status: c.res.headers.get('cache-status') ?? undefined,
      upstream_status: facts.upstream_status ?? (upstreamMs ? 200 : undefined),
      upstream_ms: upstreamMs ? Number(upstreamMs) : undefined,
      duration_ms: Date.now() - start,
    }
    const text = redactText(JSON.stringify(line), configuredSecrets(c.env))
    c.executionCtx.waitUntil(Promise.resolve().then(() => console.log(text)))
  })
