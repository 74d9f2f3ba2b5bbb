import { createMiddleware } from 'hono/factory'
import { type MetricKind, recordMetric } from '../metrics/metrics'
import type { AppEnv } from './app-env'

/** Methods written as they are; any other token the caller sent is redacted like the path. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** What routes tell the access log (and the metrics) beyond the response itself. */
export type LogFacts = {
  provider?: string
  code?: string
  upstream_status?: number
  /** Set by the routes a metrics data point is written for. */
  metric?: MetricKind
  /** The tier that answered (see `tierOf`), and the bytes of the record served. */
  tier?: string
  bytes?: number
}

/**
 * One JSON line per request: request id, route, provider, cache status, upstream status and time,
 * duration; credentials, gateway keys, link tokens and signed-URL secrets redacted. In production
 * one `console.log` per request, in that request, so Workers Logs indexes the object and files it
 * under the right invocation. The dev entry batches lines (`LogBuffer`): under `wrangler dev` each
 * `console.log` crosses the DevTools inspector, which costs a cache hit more than the hit itself.
 * Only what the caller chose (path, request id, an unusual method) goes through the redactor;
 * every other field is the gateway's own words and numbers.
 */
export const accessLog = () =>
  createMiddleware<AppEnv>(async function accessLog(c, next) {
    const start = Date.now()
    c.set('log', {})
    await next()
    const services = c.get('services')
    const facts = c.get('log')
    if (!services) return
    const { redactor, isolate } = services.gateway
    const timing = c.res.headers.get('server-timing') ?? ''
    const upstreamMs = /upstream;dur=([\d.]+)/.exec(timing)?.[1]
    const url = c.req.url
    const method = c.req.method
    const line = {
      level: c.res.status >= 500 ? 'error' : 'info',
      request_id: redactor.text(c.get('requestId'), c.env),
      method: KNOWN_METHODS.has(method) ? method : redactor.text(method, c.env),
      route: c.req.routePath,
      path: redactor.text(redactor.url(url.slice(url.indexOf('/', url.indexOf('//') + 2))), c.env),
      status: c.res.status,
      provider: facts.provider,
      code: facts.code,
      cache_status: c.res.headers.get('cache-status') ?? undefined,
      upstream_status: facts.upstream_status ?? (upstreamMs ? 200 : undefined),
      upstream_ms: upstreamMs ? Number(upstreamMs) : undefined,
      gate: /gate;desc="(\w+)"/.exec(timing)?.[1],
      duration_ms: Date.now() - start,
    }
    if (facts.metric && facts.provider) {
      recordMetric(c.env, isolate, {
        kind: facts.metric,
        provider: facts.provider,
        tier: facts.tier ?? 'none',
        code: facts.code ?? '',
        status: line.status,
        upstreamStatus: line.upstream_status ?? 0,
        upstreamMs: line.upstream_ms ?? 0,
        bytes: facts.bytes ?? 0,
      })
    }
    const text = JSON.stringify(line)
    if (services.gateway.batchLogs) isolate.log.write(text, (p) => c.executionCtx.waitUntil(p), services.config.log)
    else console.log(text)
  })
