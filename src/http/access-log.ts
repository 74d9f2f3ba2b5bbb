import { createMiddleware } from 'hono/factory'
import type { Config } from '../config'
import { type MetricKind, recordMetric } from '../metrics/metrics'
import type { AppEnv, Gateway } from './app-env'
import type { Redactor } from './redact'

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
    if (!services) return
    writeAccessLog(services.gateway, services.config, c.env, (p) => c.executionCtx.waitUntil(p), {
      requestId: c.get('requestId'),
      method: c.req.method,
      route: c.req.routePath,
      url: c.req.url,
      response: c.res,
      facts: c.get('log'),
      start,
    })
  })

/** What one access-log line is made of: the request, its answer and what the route told. */
export type AccessRecord = {
  requestId: string
  method: string
  route: string
  url: string
  response: Response
  facts: LogFacts
  start: number
  /** The path as redacted before (the hit path keeps it with its route), else redacted here. */
  redactedPath?: string
}

/** The path and query of a request URL. */
export function pathAndQuery(url: string): string {
  return url.slice(url.indexOf('/', url.indexOf('//') + 2))
}

/** The request's path and query as the log may show it: credentials, tokens and signed-URL secrets redacted. */
export function redactedPathOf(redactor: Redactor, env: object, url: string): string {
  return redactor.text(redactor.url(pathAndQuery(url)), env)
}

/** Writes the access-log line of one request (and its metrics data point, for the routes that ask for one). */
export function writeAccessLog(gateway: Gateway, config: Config, env: Env, waitUntil: (p: Promise<unknown>) => void, r: AccessRecord): void {
  const { redactor, isolate } = gateway
  const { facts, response } = r
  const timing = response.headers.get('server-timing') ?? ''
  const upstreamMs = timing.includes('upstream;') ? /upstream;dur=([\d.]+)/.exec(timing)?.[1] : undefined
  const line = {
    level: response.status >= 500 ? 'error' : 'info',
    request_id: redactor.text(r.requestId, env),
    method: KNOWN_METHODS.has(r.method) ? r.method : redactor.text(r.method, env),
    route: r.route,
    path: r.redactedPath ?? redactedPathOf(redactor, env, r.url),
    status: response.status,
    provider: facts.provider,
    code: facts.code,
    cache_status: response.headers.get('cache-status') ?? undefined,
    upstream_status: facts.upstream_status ?? (upstreamMs ? 200 : undefined),
    upstream_ms: upstreamMs ? Number(upstreamMs) : undefined,
    gate: timing.includes('gate;') ? /gate;desc="(\w+)"/.exec(timing)?.[1] : undefined,
    duration_ms: Date.now() - r.start,
  }
  if (facts.metric && facts.provider) {
    recordMetric(env, isolate, {
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
  if (gateway.batchLogs) isolate.log.write(text, waitUntil, config.log)
  else console.log(text)
}
