import { Hono } from 'hono'
import type { AppOptions } from './app'
import type { AppEnv } from './http/app-env'
import { digestKey, type KeyRecord } from './http/auth'
import { PROVIDERS } from './providers'
import { SANDBOXES } from './providers/sandboxes'
import { Sandbox } from './sandbox/sandbox'
import { createWorker } from './worker'

/**
 * The development Worker (`npm run dev`, the tests): the production gateway plus the built-in
 * sandbox providers under `/__sandbox` and the development key (`DEV_GATEWAY_KEY`). Production
 * builds from src/index.ts and contains none of this.
 */
export const DEV_KEY_RECORD: KeyRecord = {
  id: 'dev',
  name: 'sandbox development key',
  scopes: { providers: ['*'], links: true, admin: true },
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

/** A development gateway over `sandbox` (tests make one per test). */
export function createDevWorker(sandbox: Sandbox, options: Partial<AppOptions> = {}) {
  const outbound = options.fetch ?? ((input, init) => fetch(input, init))
  return createWorker({
    providers: PROVIDERS,
    before: new Hono<AppEnv>().route('/', sandbox.app as unknown as Hono<AppEnv>),
    resolveKey: devKeyResolver(),
    extraSecrets: ['DEV_GATEWAY_KEY'],
    sandbox: true,
    batchLogs: true,
    ...options,
    fetch: sandbox.fetch(outbound),
  })
}

/** This isolate's sandbox: its fake providers' state and call counters. */
export const sandbox = new Sandbox(SANDBOXES)

export default createDevWorker(sandbox).handler
