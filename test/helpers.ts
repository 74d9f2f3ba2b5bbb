import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { expect } from 'vitest'
import type { AppOptions } from '../src/app'
import { createDevWorker } from '../src/dev'
import { digestKey, KEY_PREFIX, type KeyRecord, type KeyScopes } from '../src/http/auth'
import { IsolateState } from '../src/isolate-state'
import { PROVIDERS } from '../src/providers'
import { SANDBOXES } from '../src/providers/sandboxes'
import type { ProviderAdapter } from '../src/providers/types'
import { Sandbox } from '../src/sandbox/sandbox'
import { recordResponse } from './setup/leak-scan'

export const DEV_KEY = 'ae_test_dev_key'
export const ORIGIN = 'https://gateway.asset-edge.test'

/**
 * What one test runs against: a sandbox, one isolate's state and a Cache API namespace of its
 * own, all made anew by `resetState()`, as on a fresh deployment.
 */
type TestWorld = {
  sandbox: Sandbox
  isolate: IsolateState
  edgeNamespace: string
  gateScope: string
  workers: Map<typeof fetch | undefined, ReturnType<typeof createDevWorker>>
}
let world: TestWorld = newWorld()

function newWorld(): TestWorld {
  const id = crypto.randomUUID()
  return { sandbox: new Sandbox(SANDBOXES), isolate: new IsolateState(), edgeNamespace: `test-${id}`, gateScope: `test-${id}/`, workers: new Map() }
}

/** This test's sandbox: its fake providers' state and call counters. */
export function currentSandbox(): Sandbox {
  return world.sandbox
}

/** This test's isolate state. */
export function currentIsolate(): IsolateState {
  return world.isolate
}

/** Upstream calls the sandbox answered in this test, by provider (`spotify`, `sync`, …, `spotify-token`). */
export const sandboxStats = {
  calls: (provider: string): number => world.sandbox.calls(provider),
  tokensMinted: (): number => world.sandbox.calls('spotify-token-minted'),
}

/** A development Worker over this test's world (sandbox, isolate state, Cache API namespace, provider gates), with overrides. */
export function worldWorker(options: Partial<AppOptions> = {}) {
  return createDevWorker(world.sandbox, { isolate: world.isolate, edgeNamespace: world.edgeNamespace, gateScope: world.gateScope, ...options })
}

/** The prefix of this test's provider gates' names (each test reaches objects of its own). */
export function currentGateScope(): string {
  return world.gateScope
}

/** Runs one request through a development Worker of this test's world, waiting for its background work. */
export async function run(request: Request, options: { env?: Partial<Env>; fetch?: typeof fetch } = {}): Promise<Response> {
  // One Worker per world and outbound fetch: building the app per request would cost more than the request.
  let worker = world.workers.get(options.fetch)
  if (!worker) {
    worker = worldWorker(options.fetch ? { fetch: options.fetch } : {})
    world.workers.set(options.fetch, worker)
  }
  const { handler } = worker
  const ctx = createExecutionContext()
  const response = await handler.fetch(request, options.env ? ({ ...env, ...options.env } as Env) : env, ctx)
  // Background work (cache writes, refreshes, the log flush) finishes before the caller looks, so tests are deterministic.
  await waitOnExecutionContext(ctx)
  await recordResponse(response)
  return response
}

/**
 * A request whose header values outside ASCII (`raw`, lower-case names) are as a Worker sees bytes
 * a client sent outside ASCII. They are answered by `get` and `has` of the request's own Headers
 * rather than set: workerd's Headers UTF-8-encodes a non-ASCII value a script sets (a quirk;
 * browsers refuse it) and prints a warning holding the whole value.
 */
export function withRawHeaders(request: Request, raw: Record<string, string>): Request {
  if (Object.keys(raw).length === 0) return request
  class WireHeaders extends Headers {
    override get(name: string): string | null {
      return raw[name.toLowerCase()] ?? super.get(name)
    }
    override has(name: string): boolean {
      return name.toLowerCase() in raw || super.has(name)
    }
  }
  Object.defineProperty(request, 'headers', { value: new WireHeaders(request.headers) })
  return request
}

/** Header pairs split into those workerd's Headers takes as they are (ASCII) and the rest. */
function splitHeaders(init: HeadersInit | undefined): { ascii: [string, string][]; raw: Record<string, string> } {
  const pairs: [string, string][] =
    init instanceof Headers ? [...init] : Array.isArray(init) ? init.map(([n, v]) => [n ?? '', v ?? '']) : Object.entries(init ?? {})
  const raw: Record<string, string> = {}
  const ascii = pairs.filter(([name, value]) => {
    if (/^[\x00-\x7f]*$/.test(value)) return true
    raw[name.toLowerCase()] = value
    return false
  })
  return { ascii, raw }
}

/**
 * Calls the gateway as a client would, with the dev key unless told otherwise. Header values
 * outside ASCII reach the gateway as from the wire (`withRawHeaders`).
 */
export async function call(path: string, init: RequestInit & { key?: string | null } = {}): Promise<Response> {
  const { key = DEV_KEY, ...rest } = init
  const { ascii, raw } = splitHeaders(rest.headers)
  const headers = new Headers(ascii)
  const keyed = ['authorization', 'x-api-key'].some((name) => headers.has(name) || name in raw)
  if (key !== null && !keyed) headers.set('authorization', `Bearer ${key}`)
  return run(withRawHeaders(new Request(new URL(path, ORIGIN), { ...rest, headers }), raw))
}

/** The gateway with env overrides and an outbound `fetch` of the test's own, for cases one env can't cover. */
export async function callApp(
  path: string,
  options: { env?: Partial<Env>; fetch?: typeof fetch; key?: string; init?: RequestInit } = {},
): Promise<{ response: Response }> {
  const headers = new Headers(options.init?.headers)
  headers.set('authorization', `Bearer ${options.key ?? DEV_KEY}`)
  const request = new Request(new URL(path, ORIGIN), { ...options.init, headers })
  return { response: await run(request, { ...(options.env ? { env: options.env } : {}), ...(options.fetch ? { fetch: options.fetch } : {}) }) }
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

/**
 * Checks a mirror route replayed the provider's own error answer: its status (and body, when
 * given), the gateway's code for the outcome in `x-asset-edge-error`, and `Cache-Control: no-store`.
 */
export async function expectProviderAnswer(response: Response, status: number, code: string, body?: string): Promise<string> {
  expect(response.status).toBe(status)
  expect(response.headers.get('x-asset-edge-error')).toBe(code)
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(response.headers.get('content-type')).not.toBe('application/problem+json')
  const text = await response.text()
  if (body !== undefined) expect(text).toBe(body)
  return text
}

/** Plays a new isolate: fresh key, token and memory-tier state, no in-flight refreshes (KV and the Cache API stay). */
export function freshIsolate(): void {
  world.isolate = new IsolateState()
  world.workers.clear()
}

/** Makes every Cache API entry written so far unreachable (the Cache API cannot be listed). */
export function forgetEdgeEntries(): void {
  world.edgeNamespace = `test-${crypto.randomUUID()}`
  world.workers.clear()
}

/** A new world for the next test: empty KV (but the published spec), Cache API, sandbox and isolate. */
export async function resetState(): Promise<void> {
  for (;;) {
    const { keys } = await env.ASSET_KV.list()
    const doomed = keys.filter((k) => !k.name.startsWith('openapi:'))
    if (doomed.length === 0) break
    await Promise.all(doomed.map((k) => env.ASSET_KV.delete(k.name)))
  }
  world = newWorld()
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
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const url = `https://media.test/v.mp4?X-Amz-Date=${date}&X-Amz-Expires=${lifetimeS}&X-Amz-Signature=abc`
  return Response.json({ id, createdAt: '2024-01-15T09:30:00Z', updatedAt: '2024-01-15T09:30:00Z', type: 'VIDEO', visibility: 'USER', name, url })
}

/** A small Gumnut asset record for a fake Gumnut to answer with, plus `extra` fields. */
export function gumnutRecord(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    created_at: 'x',
    updated_at: 'x',
    current_version_id: 'v',
    kind: 'original',
    original_file_name: 'a.jpg',
    mime_type: 'image/jpeg',
    thumbhash: 'x',
    asset_urls: {},
    ...extra,
  }
}

/** The adapter of a built-in provider. */
export function adapterOf(name: string): ProviderAdapter {
  const adapter = PROVIDERS.get(name)
  if (!adapter) throw new Error(`no provider ${name}`)
  return adapter
}
