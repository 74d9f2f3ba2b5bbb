import type { Context } from 'hono'
import { Hono } from 'hono/tiny'
import { mediaUrlExpiry } from '../cache/media-expiry'
import { MEDIA_FILES, type MediaFileName } from './media-files'
import { FAULTS, type Fault, SAMPLE } from './samples'
import { hiddenExpiry } from './signed-urls'
import { SandboxState } from './state'

/**
 * Fake upstreams that speak each provider's spec, for `npm run dev` and the tests: a development
 * tool, reached only from the dev entry point (src/dev.ts), never part of the production bundle.
 * The gateway reaches them in-process (see `Sandbox.fetch`), a browser reaches the media route
 * over HTTP. Calls are counted so tests can assert how often the providers were asked.
 */
export const SANDBOX_PREFIX = '/__sandbox'

export type SandboxEnv = { Bindings: Partial<Env> }

/** An error body in a provider's own shape (`invalid` names the input a 400/422 refuses). */
export type ErrorBody = (status: number, message: string, invalid?: { param: string; value: string }) => unknown

/** What a provider's sandbox gets to build its routes with. */
export type SandboxKit = {
  state: SandboxState
  /** The origin + path of the sandbox media route, for records' URLs. */
  mediaBase(url: string): string
  /** The fault a sample id asks for (shared UUIDs, or the provider's own `samples`). */
  faultOf(id: string, samples?: Readonly<Record<string, string>>): Fault | undefined
  /** Answers a fault the way a failing provider does, with `error` bodies; undefined for none. */
  faultResponse(fault: Fault | undefined, error: ErrorBody, signal: AbortSignal, invalidStatus?: 400 | 422): Promise<Response | undefined>
  json(body: unknown, status?: number, headers?: Record<string, string>): Response
  /** Throws a 401 unless the request carries the development key (control routes). */
  requireDevKey(c: Context<SandboxEnv>): Response | undefined
}

/** One provider's fake upstream, in its folder (`src/providers/<name>/sandbox.ts`). */
export type ProviderSandbox = {
  readonly name: string
  mount(app: Hono<SandboxEnv>, kit: SandboxKit): void
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

async function faultResponse(fault: Fault | undefined, error: ErrorBody, signal: AbortSignal, invalidStatus: 400 | 422 = 400): Promise<Response | undefined> {
  switch (fault) {
    case 'fail500':
      return json(error(500, 'Internal Server Error'), 500)
    case 'fail429':
      return json(error(429, 'Too Many Requests'), 429, {
        'retry-after': '7',
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-window': '1000',
      })
    case 'fail401':
      return json(error(401, 'Unauthorized'), 401)
    case 'fail403':
      return json(error(403, 'Forbidden'), 403)
    case 'fail400':
      // The provider refusing its input: 400, or 422 where the provider says so (FastAPI services).
      return json(error(invalidStatus, 'Invalid request', { param: 'asset_id', value: 'sandbox' }), invalidStatus)
    case 'fail502':
      return new Response('<html>502 Bad Gateway</html>', { status: 502, headers: { 'content-type': 'text/html' } })
    case 'fail503':
      return json(error(503, 'Service Unavailable'), 503, { 'retry-after': '30' })
    case 'malformed':
      return new Response('{"id": "truncated', { headers: { 'content-type': 'application/json' } })
    case 'truncated':
      // Headers and half a body, then the connection drops.
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"id": "eeeeeeee-0000-4000-8000-0000000000d0", "name": "cut'))
            controller.error(new Error('connection reset'))
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    case 'wrongType':
      return new Response('<!doctype html><title>Login</title>', { headers: { 'content-type': 'text/html; charset=utf-8' } })
    case 'oversized':
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new TextEncoder().encode(`{"pad":"${'x'.repeat(64 * 1024)}",`)) // endless: only a bounded reader survives it
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      )
    case 'hang':
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 30_000)
        signal.addEventListener('abort', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      return json(error(504, 'hung'), 504)
    default:
      return undefined
  }
}

function faultOf(id: string, samples: Readonly<Record<string, string>> = {}): Fault | undefined {
  return FAULTS.find((fault) => id === SAMPLE[fault] || id === samples[fault])
}

/** The sandbox of one dev isolate (or one test): its fake providers, their state and counters. */
export class Sandbox {
  readonly state = new SandboxState()
  readonly app = new Hono<SandboxEnv>().basePath(SANDBOX_PREFIX)
  private readonly faultIds: Readonly<Record<string, string>>[]

  constructor(providers: readonly (ProviderSandbox & { samples?: Readonly<Record<string, string>> })[]) {
    this.faultIds = providers.flatMap((p) => (p.samples ? [p.samples] : []))
    const kit: SandboxKit = {
      state: this.state,
      mediaBase: (url) => `${new URL(url).origin}${SANDBOX_PREFIX}/media`,
      faultOf,
      faultResponse,
      json,
      requireDevKey(c) {
        const key: unknown = Reflect.get(c.env ?? {}, 'DEV_GATEWAY_KEY')
        const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1]
        return typeof key === 'string' && key !== '' && presented === key ? undefined : json({ error: 'sandbox control routes need the development key' }, 401)
      },
    }
    for (const provider of providers) provider.mount(this.app, kit)
    this.app.get('/media/:file', (c) => {
      const file = c.req.param('file')
      if (!Object.hasOwn(MEDIA_FILES, file)) return c.text('no such file', 404)
      const url = new URL(c.req.url)
      const expiry = mediaUrlExpiry(url.toString()) ?? hiddenExpiry(url)
      if (expiry !== undefined && expiry < Date.now()) return c.text('Request has expired', 403)
      const media = MEDIA_FILES[file as MediaFileName]
      const bytes = Uint8Array.from(atob(media.base64), (ch) => ch.charCodeAt(0))
      // Followed from links other origins embed, like a provider's CDN.
      return c.body(bytes, 200, { 'content-type': media.type, 'cache-control': 'private, max-age=60', 'cross-origin-resource-policy': 'cross-origin' })
    })
    // A control route's body that is not JSON is the caller's mistake, not a crash.
    this.app.onError((err, c) =>
      c.json({ error: err instanceof SyntaxError ? 'the body is not JSON' : 'sandbox error' }, err instanceof SyntaxError ? 400 : 500),
    )
  }

  /** Upstream calls the sandbox has answered, by name (a provider, or a route of its own such as a token endpoint). */
  calls(name: string): number {
    return this.state.callsTo(name)
  }

  /**
   * The `fetch` the gateway uses in dev: requests to a `/__sandbox/` path are answered in-process,
   * whatever host the base URL names; anything else goes to `outbound`.
   */
  fetch(outbound: typeof fetch): typeof fetch {
    return async (input, init) => {
      const request = new Request(input, init)
      const { pathname } = new URL(request.url)
      if (!pathname.startsWith(`${SANDBOX_PREFIX}/`)) return outbound(request)
      // A refused connection never reaches a server: fail the way workerd's fetch does.
      const refused = (segment: string) => segment === SAMPLE.refused || this.faultIds.some((ids) => ids.refused === segment)
      if (pathname.split('/').some(refused)) {
        throw new TypeError('Network connection lost.')
      }
      return this.app.fetch(request)
    }
  }
}
