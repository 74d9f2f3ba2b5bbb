import { env, exports } from 'cloudflare:workers'
import { expect } from 'vitest'
import { clearKeyCache, digestKey, KEY_PREFIX, type KeyRecord, type KeyScopes } from '../src/http/auth'
import { resetSpotifyTokenState } from '../src/providers/spotify-token'
import { sandboxStats } from '../src/sandbox/app'
import { recordResponse } from './setup/leak-scan'
import { clearMemoryTier, forgetEdgeEntries } from '../src/cache/build'
import { resetInflight } from '../src/cache/tiered-cache'
import { resetPacers } from '../src/upstream/pacer'
import { resetReplayGuard } from '../src/freshness/replay-guard'
import { resetPendingNotes } from '../src/freshness/pending-recheck'
import { sandboxState } from '../src/sandbox/state'

export const DEV_KEY = 'ae_test_dev_key'
export const ORIGIN = 'https://gateway.asset-edge.test'

/** Calls the Worker's default export, as a client would, with the dev key unless told otherwise. */
export async function call(path: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const { key = DEV_KEY, ...rest } = init
  const headers = new Headers(rest.headers)
  if (key !== null && !headers.has('authorization') && !headers.has('x-api-key')) headers.set('authorization', `Bearer ${key}`)
  const response = await exports.default.fetch(new Request(new URL(path, ORIGIN), { ...rest, headers }))
  await recordResponse(response)
  return response
}

/** Stores a gateway key in KV the way `npm run keys -- create` does, and returns it. */
export async function createKey(scopes: Partial<KeyScopes>, name = 'test key'): Promise<string> {
  const key = `ae_${crypto.randomUUID().replace(/-/g, '')}`
  const record: KeyRecord = {
    id: key.slice(3, 11),
    name,
    scopes: { providers: ['*'], links: false, admin: false, ...scopes },
    created_at: new Date().toISOString(),
  }
  await env.ASSET_KV.put(KEY_PREFIX + (await digestKey(key)), JSON.stringify(record))
  return key
}

/** Asserts an RFC 9457 problem answer with the given status and code, and returns its body. */
export async function expectProblem(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const body = (await response.json()) as Record<string, unknown>
  expect(body).toMatchObject({ status, code })
  expect(typeof body.title).toBe('string')
  expect(typeof body.detail).toBe('string')
  expect(String(body.type)).toMatch(/^https:\/\//)
  return body
}

/** What a new isolate starts without: key, token and memory-tier state, in-flight refreshes. */
export function freshIsolate(): void {
  clearKeyCache()
  resetSpotifyTokenState()
  clearMemoryTier()
  resetInflight()
  resetReplayGuard()
  resetPendingNotes()
  resetPacers()
}

/** Resets state that outlives a test: KV, Cache API entries, sandbox counters, isolate memory. */
export async function resetState(): Promise<void> {
  // Everything but the published spec (test/setup/publish-spec.ts), as on a fresh deployment.
  for (;;) {
    const { keys } = await env.ASSET_KV.list()
    const doomed = keys.filter((k) => !k.name.startsWith('openapi:'))
    if (doomed.length === 0) break
    await Promise.all(doomed.map((k) => env.ASSET_KV.delete(k.name)))
  }
  forgetEdgeEntries()
  sandboxStats.reset()
  sandboxState.reset()
  freshIsolate()
}

export { sandboxStats }

/** A Worker built by `createApp` with its own env overrides and outbound `fetch`, for cases one env can't cover. */
export async function callApp(
  path: string,
  options: { env?: Partial<Env>; fetch?: typeof fetch; key?: string; init?: RequestInit } = {},
): Promise<{ response: Response }> {
  const { createApp } = await import('../src/app')
  const app = createApp(options.fetch ? { fetch: options.fetch } : {})
  const pending: Promise<unknown>[] = []
  const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext
  const headers = new Headers(options.init?.headers)
  headers.set('authorization', `Bearer ${options.key ?? DEV_KEY}`)
  const response = await app.fetch(new Request(new URL(path, ORIGIN), { ...options.init, headers }), { ...env, ...options.env }, ctx)
  // Background work (cache writes, refreshes) finishes before the caller looks, so tests are deterministic.
  while (pending.length > 0) await Promise.allSettled(pending.splice(0))
  await recordResponse(response)
  return { response }
}

/**
 * A provider of the test's own at `https://upstream.test` (Sync's shape): answers each call with
 * what `next` returns, counting calls. Pair it with `env: { SYNC_BASE_URL: UPSTREAM }`.
 */
export const UPSTREAM = 'https://upstream.test'
export function fakeSync(next: (call: number, url: URL) => Response | Promise<Response>) {
  const state = { calls: 0 }
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    if (url.origin !== UPSTREAM) throw new Error(`unexpected outbound call to ${url.origin}`)
    state.calls += 1
    return next(state.calls, url)
  }
  return { fetcher, state }
}

/** A Sync record whose media URL is an S3 SigV4 URL valid for `lifetimeS` from now. */
export function syncRecord(id: string, name: string, lifetimeS = 3600): Response {
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
  const url = `https://media.test/v.mp4?X-Amz-Date=${date}&X-Amz-Expires=${lifetimeS}&X-Amz-Signature=abc`
  return Response.json({ id, createdAt: '2024-01-15T09:30:00Z', updatedAt: '2024-01-15T09:30:00Z', type: 'VIDEO', visibility: 'USER', name, url })
}
