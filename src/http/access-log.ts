import { createMiddleware } from 'hono/factory'
import { intSetting } from '../upstream/fetch-record'
import { writeLogLine } from './log-sink'
import { configuredSecrets, redactText, redactUrl } from './redact'

/** What routes tell the access log beyond the response itself. */
export type LogFacts = { provider?: string; code?: string; upstream_status?: number }

/**
 * One JSON line per request: request id, route, provider, cache status, upstream status and time,
 * duration; credentials, gateway keys, link tokens and signed-URL secrets redacted. Written after
 * the answer in batches (see `log-sink.ts`), so a cache hit neither waits on nor pays for a log call.
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
    const flushMs = c.env.LOG_FLUSH_MS === '0' ? 0 : intSetting(c.env.LOG_FLUSH_MS, 1000)
    writeLogLine(text, (p) => c.executionCtx.waitUntil(p), { maxLines: intSetting(c.env.LOG_BATCH_LINES, 50), flushMs })
  })
