import { Hono } from 'hono'
import { mediaUrlExpiry } from '../cache/media-expiry'
import { frameioRecord, gumnutRecord, spotifyRecord, syncRecord } from './fixtures'
import { type Fault, faultOf, SAMPLE } from './ids'
import { MEDIA_FILES, type MediaFileName } from './media-files'
import { gumnutHiddenExpiry } from './signed-urls'
import { sandboxState } from './state'
import { signFrameioWebhook } from '../freshness/frameio-signature'

/**
 * Fake upstreams that speak each provider's spec, mounted at `/__sandbox` when `SANDBOX=on`.
 * The gateway reaches them in-process (see `sandboxFetch`), a browser reaches the media route
 * over HTTP. Calls are counted so tests can assert how often the providers were asked.
 */
export const SANDBOX_PREFIX = '/__sandbox'

const calls = new Map<string, number>()
let tokensMinted = 0

/** Upstream calls the sandbox has answered, per provider (`spotify`, `sync`, …, `spotify-token`). */
export const sandboxStats = {
  calls: (provider: string): number => calls.get(provider) ?? 0,
  tokensMinted: (): number => tokensMinted,
  reset(): void {
    calls.clear()
    tokensMinted = 0
  },
}

type ErrorBody = (status: number, message: string) => Record<string, unknown>
const ERRORS: Record<string, ErrorBody> = {
  spotify: (status, message) => ({ sp_trace_id: crypto.randomUUID(), messages: [message], error_codes: [{ code: `E${status}`, definition: message }] }),
  sync: (status, message) => ({ message, statusCode: status }),
  gumnut: (_status, message) => ({ detail: message }),
  frameio: (status, message) => ({ code: status, message, errors: [{ code: status, detail: message, status, title: message }] }),
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

/** Answers a fault id the way a failing provider does, or undefined for a normal id. */
async function faultResponse(provider: string, fault: Fault | undefined, signal: AbortSignal): Promise<Response | undefined> {
  const error = ERRORS[provider] ?? ERRORS.sync!
  switch (fault) {
    case 'fail500':
      return json(error(500, 'Internal Server Error'), 500)
    case 'fail429':
      return json(error(429, 'Too Many Requests'), 429, { 'retry-after': '7', 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '0', 'x-ratelimit-window': '1000' })
    case 'fail401':
      return json(error(401, 'Unauthorized'), 401)
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

function mediaBase(url: string): string {
  return `${new URL(url).origin}${SANDBOX_PREFIX}/media`
}

function count(provider: string): void {
  calls.set(provider, (calls.get(provider) ?? 0) + 1)
}

const SANDBOX_TOKEN = /^Bearer sandbox-access-(\d+)-[0-9a-f]+$/

export const sandboxApp = new Hono<{ Bindings: Partial<Env> }>().basePath(SANDBOX_PREFIX)

sandboxApp.post('/spotify-accounts/api/token', async (c) => {
  count('spotify-token')
  if (!/^Basic \S+$/.test(c.req.header('authorization') ?? '')) return c.json({ error: 'invalid_client' }, 401)
  const form = await c.req.parseBody()
  if (form.grant_type !== 'refresh_token' || typeof form.refresh_token !== 'string') return c.json({ error: 'invalid_request' }, 400)
  if (form.refresh_token === 'sandbox-revoked') return c.json({ error: 'invalid_grant', error_description: 'Refresh token revoked' }, 400)
  tokensMinted += 1
  const expiresIn = 3600
  const token = `sandbox-access-${Math.floor(Date.now() / 1000) + expiresIn}-${crypto.randomUUID().replace(/-/g, '')}`
  const rotated = form.refresh_token === 'sandbox-rotating' ? { refresh_token: 'sandbox-rotated' } : {}
  return c.json({ access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: '', ...rotated })
})

sandboxApp.get('/spotify/ad_accounts/:ad_account_id/assets/:asset_id', async (c) => {
  count('spotify')
  const token = SANDBOX_TOKEN.exec(c.req.header('authorization') ?? '')
  if (!token || Number(token[1]) * 1000 < Date.now()) return json(ERRORS.spotify!(401, 'Invalid access token'), 401)
  const id = c.req.param('asset_id')
  const fault = await faultResponse('spotify', faultOf(id), c.req.raw.signal)
  if (fault) return fault
  const record = c.req.param('ad_account_id') === SAMPLE.adAccount ? spotifyRecord(id, mediaBase(c.req.url), Date.now()) : undefined
  // Spotify answers an unknown asset with 400 and says why in the body.
  return record ? json(record) : json(ERRORS.spotify!(400, 'Asset not found'), 400)
})

sandboxApp.get('/sync/v2/assets/:id', async (c) => {
  count('sync')
  const id = c.req.param('id')
  const fault = await faultResponse('sync', faultOf(id), c.req.raw.signal)
  if (fault) return fault
  const record = syncRecord(id, mediaBase(c.req.url), Date.now())
  return record ? json(record) : json(ERRORS.sync!(404, 'Asset not found'), 404)
})

sandboxApp.get('/gumnut/api/assets/:asset_id', async (c) => {
  count('gumnut')
  const id = c.req.param('asset_id')
  const fault = await faultResponse('gumnut', faultOf(id), c.req.raw.signal)
  if (fault) return fault
  const include = new Set(c.req.queries('include')?.flatMap((v) => v.split(',')) ?? [])
  const record = gumnutRecord(id, mediaBase(c.req.url), Date.now(), include)
  return record ? json(record) : json(ERRORS.gumnut!(404, 'Asset not found'), 404)
})

sandboxApp.get('/frameio/v2/assets/:asset_id', async (c) => {
  count('frameio')
  const id = c.req.param('asset_id')
  const fault = await faultResponse('frameio', faultOf(id), c.req.raw.signal)
  if (fault) return fault
  const record = frameioRecord(id, mediaBase(c.req.url), Date.now(), c.req.query('include_deleted') === 'true')
  const limits = { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '4', 'x-ratelimit-window': '1000' }
  return record ? json(record, 200, limits) : json(ERRORS.frameio!(404, 'Not Found'), 404, limits)
})

/** How a sandbox event changes the asset it names. */
function applySandboxEvent(provider: 'frameio' | 'gumnut', id: string, type: string): void {
  if (/deleted/.test(type)) sandboxState.change(provider, id, { deleted: true })
  else if (/ready/.test(type)) sandboxState.change(provider, id, { ready: true, bump: true })
  else if (/updated|versioned/.test(type)) sandboxState.change(provider, id, { bump: true })
}

// The sandbox Frame.io changes an asset and hands back the webhook it would send, signed with
// FRAMEIO_WEBHOOK_SECRET; `npm run webhook` delivers it to /webhooks/frameio.
sandboxApp.post('/frameio/_webhooks', async (c) => {
  const { type, id } = await c.req.json<{ type?: string; id?: string }>()
  if (typeof type !== 'string' || typeof id !== 'string') return c.json({ error: 'send { type, id }' }, 400)
  applySandboxEvent('frameio', id, type)
  const body = JSON.stringify({ type, resource: { type: 'asset', id }, user: { id: 'sandbox-user' }, team: { id: 'sandbox-team' } })
  const headers = await signFrameioWebhook(c.env.FRAMEIO_WEBHOOK_SECRET ?? '', body, Math.floor(Date.now() / 1000))
  return c.json({ body, headers })
})

// The sandbox Gumnut changes an asset and records the event in its feed.
sandboxApp.post('/gumnut/_events', async (c) => {
  const { event_type, id } = await c.req.json<{ event_type?: string; id?: string }>()
  if (typeof event_type !== 'string' || typeof id !== 'string') return c.json({ error: 'send { event_type, id }' }, 400)
  applySandboxEvent('gumnut', id, event_type)
  return c.json(sandboxState.appendGumnutEvent({ entity_id: id, entity_type: 'asset', event_type }), 201)
})

sandboxApp.get('/gumnut/api/events', (c) => {
  count('gumnut-events')
  const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 20) || 20))
  const types = c.req.query('entity_types')?.split(',')
  const page = sandboxState.gumnutEventsAfter(c.req.query('after_cursor'), limit)
  return json({ ...page, data: types ? page.data.filter((e) => types.includes(e.entity_type)) : page.data })
})

sandboxApp.get('/media/:file', (c) => {
  const file = c.req.param('file')
  if (!Object.hasOwn(MEDIA_FILES, file)) return c.text('no such file', 404)
  const url = new URL(c.req.url)
  const expiry = mediaUrlExpiry(url.toString()) ?? gumnutHiddenExpiry(url)
  if (expiry !== undefined && expiry < Date.now()) return c.text('Request has expired', 403)
  const media = MEDIA_FILES[file as MediaFileName]
  const bytes = Uint8Array.from(atob(media.base64), (ch) => ch.charCodeAt(0))
  return c.body(bytes, 200, { 'content-type': media.type, 'cache-control': 'private, max-age=60' })
})

/**
 * The `fetch` the gateway uses when `SANDBOX=on`: requests to a `/__sandbox/` path are answered
 * in-process by `sandboxApp`, whatever host the base URL names; anything else goes to the network.
 */
export function sandboxFetch(outbound: typeof fetch): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const { pathname } = new URL(request.url)
    if (!pathname.startsWith(`${SANDBOX_PREFIX}/`)) return outbound(request)
    // A refused connection never reaches a server: fail the way workerd's fetch does.
    if (pathname.split('/').some((segment) => faultOf(segment) === 'refused')) throw new TypeError('Network connection lost.')
    return sandboxApp.fetch(request)
  }
}
