import { HTTPException } from 'hono/http-exception'
import { Hono } from 'hono/tiny'
import { configReader } from './config'
import { accessLog } from './http/access-log'
import type { AppEnv, Gateway } from './http/app-env'
import type { KeyRecord } from './http/auth'
import { ApiError, problemResponse } from './http/errors'
import { createRedactor } from './http/redact'
import { requestId } from './http/request-id'
import { securityHeaders } from './http/security-headers'
import { services } from './http/services'
import { IsolateState } from './isolate-state'
import type { ProviderRegistry } from './providers/types'
import { adminRoutes } from './routes/admin'
import { linkRoutes } from './routes/links'
import { lookupRoutes } from './routes/lookups'
import { meta } from './routes/meta'
import { subscriptionRoutes } from './routes/subscriptions'
import { webhookRoutes } from './routes/webhooks'

export type AppOptions = {
  /** The providers this gateway serves (`PROVIDERS` in production). */
  providers: ProviderRegistry
  /** This isolate's state; a new one unless given (tests play several isolates with several). */
  isolate?: IsolateState
  /** The outbound `fetch` for upstream calls; the global one unless given. */
  fetch?: typeof fetch
  /** The Cache API cache; `caches.default` unless given. */
  openEdge?: () => Promise<Cache> | Cache
  /** Cache API key namespace (entry format version); tests take a new one per test. */
  edgeNamespace?: string
  /** Prefix of the provider gates' names; tests take a new one per test. */
  gateScope?: string
  /** Routes mounted before the gateway's own (the dev entry's sandbox). */
  before?: Hono<AppEnv>
  /** Keys accepted beside those in KV, by digest (the dev entry's development key). */
  resolveKey?: (env: Env, digest: string) => Promise<KeyRecord | undefined>
  /** More vars to redact from logs (the development key). */
  extraSecrets?: readonly string[]
  /** The dev entry's sandbox is served. */
  sandbox?: boolean
  /** Redirect targets allowed beside each provider's media hosts (the dev entry's sandbox media). */
  devRedirects?: (url: URL) => boolean
  /**
   * Fresh memory hits are answered ahead of the router (`http/hit-path.ts`); default on. Off, every
   * request takes the full path (the test that holds the two to the same answer).
   */
  hitPath?: boolean
  /** Access-log lines go out in batches (`LogBuffer`): the dev entry only, where each `console.log` is costly. */
  batchLogs?: boolean
}

/** Builds the gateway: request id, services, routes (each group with its own auth), and one problem+json error path. */
export function createApp(options: AppOptions) {
  const { providers } = options
  const gateway: Gateway = {
    providers,
    isolate: options.isolate ?? new IsolateState(),
    config: configReader(providers.list),
    redactor: createRedactor(providers, options.extraSecrets),
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    openEdge: options.openEdge ?? (() => caches.default),
    edgeNamespace: options.edgeNamespace ?? 'v1',
    gateScope: options.gateScope ?? '',
    sandbox: options.sandbox ?? false,
    batchLogs: options.batchLogs ?? false,
    ...(options.resolveKey ? { resolveKey: options.resolveKey } : {}),
    ...(options.devRedirects ? { devRedirects: options.devRedirects } : {}),
  }

  const app = new Hono<AppEnv>()
  app.use(securityHeaders())
  app.use(requestId())
  app.use(services(gateway))
  app.use(accessLog())
  // Hono's tiny router (the small bundle) also matches `/healthz/` for `/healthz`; the gateway's
  // paths have no trailing slash, so one is not found, as it was under the strict default router.
  app.use(async (c, next) => {
    const { path } = c.req
    if (path.length > 1 && path.endsWith('/')) return c.notFound()
    await next()
  })

  if (options.before) app.route('/', options.before)
  app.route('/', meta)
  app.route('/', linkRoutes(providers))
  app.route('/', adminRoutes(providers))
  app.route('/', webhookRoutes(providers))
  app.route('/', subscriptionRoutes(providers))
  app.route('/', lookupRoutes(providers))

  app.notFound(() => problemResponse(404, 'not_found', 'No such route.'))
  app.onError((err, c) => {
    if (err instanceof ApiError) {
      Object.assign(c.get('log') ?? {}, { code: err.code, upstream_status: err.extras.upstream_status })
      return err.getResponse()
    }
    if (err instanceof HTTPException) return problemResponse(err.status, 'http_error', err.message || 'Request refused.')
    const error = gateway.redactor.text(String(err), c.env)
    console.error(JSON.stringify({ level: 'error', request_id: c.get('requestId'), message: 'unhandled error', error }))
    return problemResponse(500, 'internal_error', `Unexpected error; quote request id ${c.get('requestId')}.`)
  })
  return { app, gateway }
}
