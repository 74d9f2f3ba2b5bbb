import { Hono } from 'hono/tiny'
import type { AppOptions } from './app'
import { runCron } from './freshness/cron'
import type { AppEnv } from './http/app-env'
import { digestKey, type KeyRecord } from './http/auth'
import { lookupDeps } from './http/services'
import { PROVIDERS } from './providers'
import { SANDBOXES } from './providers/sandboxes'
import { SANDBOX_PREFIX, Sandbox } from './sandbox/sandbox'
import { createWorker } from './worker'

/** The coordinator of one provider account (Durable Object class, bound as PROVIDER_GATE). */
export { ProviderGate } from './coordinator/gate'

/**
 * The development Worker (`npm run dev`, the tests): the production gateway plus the built-in
 * sandbox providers under `/__sandbox` and the development key (`DEV_GATEWAY_KEY`). Production
 * builds from src/index.ts and contains none of this.
 */
export const DEV_KEY_RECORD: KeyRecord = {
  id: 'dev',
  name: 'sandbox development key',
  scopes: { providers: ['*'], links: true, admin: true, events: true },
  created_at: '1970-01-01T00:00:00Z',
}

/** The development key's record when `digest` is the digest of `DEV_GATEWAY_KEY`. */
export function devKeyResolver(): (env: Env, digest: string) => Promise<KeyRecord | undefined> {
  let memo: { key: string; digest: string } | undefined
  return async (env, digest) => {
    const key: unknown = Reflect.get(env, 'DEV_GATEWAY_KEY')
    if (typeof key !== 'string' || key === '') return undefined
    if (memo?.key !== key) memo = { key, digest: await digestKey(key) }
    return digest === memo.digest ? DEV_KEY_RECORD : undefined
  }
}

/**
 * The dev entry's routes before the gateway's: the sandbox, and `POST /__sandbox/_scheduled`, which
 * runs the Cron Trigger at once for the development key (in place of wrangler's unauthenticated
 * `--test-scheduled` route, which `npm run dev` does not serve).
 */
function devRoutes(sandbox: Sandbox): Hono<AppEnv> {
  const routes = new Hono<AppEnv>().route('/', sandbox.app as unknown as Hono<AppEnv>)
  routes.post(`${SANDBOX_PREFIX}/_scheduled`, async (c) => {
    const key: unknown = Reflect.get(c.env, 'DEV_GATEWAY_KEY')
    const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1]
    if (typeof key !== 'string' || key === '' || presented !== key) return c.json({ error: 'sandbox control routes need the development key' }, 401)
    await runCron(lookupDeps(c.get('services').gateway, c.env, (p) => c.executionCtx.waitUntil(p)))
    return c.json({ ran: 'cron' })
  })
  return routes
}

/** A development gateway over `sandbox` (tests make one per test). */
export function createDevWorker(sandbox: Sandbox, options: Partial<AppOptions> = {}) {
  const outbound = options.fetch ?? ((input, init) => fetch(input, init))
  return createWorker({
    providers: PROVIDERS,
    before: devRoutes(sandbox),
    resolveKey: devKeyResolver(),
    extraSecrets: ['DEV_GATEWAY_KEY'],
    sandbox: true,
    // The sandbox's media lives on its own origin (the dev server), outside every provider's media hosts.
    devRedirects: (url) => url.pathname.startsWith(`${SANDBOX_PREFIX}/media/`),
    batchLogs: true,
    ...options,
    fetch: sandbox.fetch(outbound),
  })
}

/** This isolate's sandbox: its fake providers' state and call counters. */
export const sandbox = new Sandbox(SANDBOXES)

export default createDevWorker(sandbox).handler
