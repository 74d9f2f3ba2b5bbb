import type { Config } from '../config'
import type { IsolateState } from '../isolate-state'
import type { LookupDeps } from '../lookup'
import type { ProviderRegistry } from '../providers/types'
import type { LogFacts } from './access-log'
import type { KeyRecord } from './auth'
import type { Redactor } from './redact'

/** What one gateway is built from, once per isolate (see `createApp`). */
export type Gateway = {
  providers: ProviderRegistry
  isolate: IsolateState
  config: (env: object) => Config
  redactor: Redactor
  /** The outbound `fetch` for upstream calls (the dev entry routes sandbox paths in-process). */
  fetch: typeof fetch
  /** The Cache API cache; `caches.default` unless a test injects another. */
  openEdge: () => Promise<Cache> | Cache
  /** Part of every Cache API key: a new one makes every earlier edge entry unreachable. */
  edgeNamespace: string
  /** Prefix of the provider gates' names: a new one reaches new objects (tests take one per test). */
  gateScope: string
  /** Keys the gateway accepts beside those in KV (the dev entry's development key), by digest. */
  resolveKey?: (env: Env, digest: string) => Promise<KeyRecord | undefined>
  /** The dev entry's fake providers are served (and their http:// media may be redirected to). */
  sandbox: boolean
  /** Redirect targets allowed beside each provider's media hosts (the dev entry's sandbox media). */
  devRedirects?: (url: URL) => boolean
  /** Access-log lines are batched across requests (dev only); otherwise one `console.log` per request, in it. */
  batchLogs: boolean
}

/** Per-request services, built once from `c.env` by the services middleware. */
export type Services = { gateway: Gateway; config: Config; lookup: LookupDeps }

/** The Hono environment every route of the gateway shares. */
export type AppEnv = {
  Bindings: Env
  Variables: { requestId: string; log: LogFacts; services: Services; key: KeyRecord; keyDigest: string }
}
