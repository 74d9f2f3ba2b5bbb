import { Hono } from 'hono/tiny'
import { destinationProblem } from '../events/destination'
import { newEventId, packEvent } from '../events/emit'
import { newSecret } from '../events/signing'
import { deleteAttempts, deleteSubscription, getEvent, getSubscription, listAttempts, listSubscriptionMetas, putEvent, putSubscription } from '../events/store'
import { ASSET_EVENT_TYPES, type AssetEvent, type AssetEventType, type StoredSubscription } from '../events/types'
import type { AppEnv } from '../http/app-env'
import { digestKey, gatewayAuth, hasProviderScope, type KeyRecord, presentedKey, requireCapability } from '../http/auth'
import { jsonBody, limitBody } from '../http/body-limit'
import { ApiError } from '../http/errors'
import { isObject } from '../providers/record'
import type { ProviderRegistry } from '../providers/types'

const MAX_BODY_BYTES = 16 * 1024
const MAX_PER_KEY = 50
const ROTATION_OVERLAP_MS = 24 * 3600 * 1000
const FIELDS = ['url', 'providers', 'types', 'description']

/** A subscription as its owner sees it: never its secrets. */
function view(sub: StoredSubscription) {
  const previous = sub.secrets.find((s) => s.expires_at && Date.parse(s.expires_at) > Date.now())
  return {
    id: sub.id,
    url: sub.url,
    providers: sub.providers,
    types: sub.types,
    ...(sub.description !== undefined ? { description: sub.description } : {}),
    created_at: sub.created_at,
    ...(previous?.expires_at ? { previous_secret_expires_at: previous.expires_at } : {}),
  }
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw new ApiError('invalid_body', `\`${field}\` must be a non-empty array of strings.`, { extras: { param: field } })
  }
  return [...new Set(value as string[])]
}

/**
 * Webhook subscriptions (`events` scope): create, list, read, delete, rotate the secret, send a
 * test event, read the delivery log, redeliver. A key sees and manages the subscriptions it made.
 */
export function subscriptionRoutes(providers: ProviderRegistry) {
  const subs = new Hono<AppEnv>()
  subs.use('/subscriptions', gatewayAuth())
  subs.use('/subscriptions/*', gatewayAuth())

  /** The caller's key digest, after the events scope is checked. */
  async function owner(c: { get(key: 'key'): KeyRecord; req: { raw: Request } }): Promise<string> {
    requireCapability(c.get('key'), 'events')
    return digestKey(presentedKey(c.req.raw) ?? '')
  }

  /** The caller's subscription `id`, or a 404 (someone else's looks like none). */
  async function owned(kv: KVNamespace, id: string, digest: string): Promise<StoredSubscription> {
    const sub = await getSubscription(kv, id)
    if (!sub || sub.key_digest !== digest) throw new ApiError('subscription_not_found', 'No such subscription for this gateway key.')
    return sub
  }

  subs.post('/subscriptions', limitBody(MAX_BODY_BYTES), async (c) => {
    const digest = await owner(c)
    const key = c.get('key')
    const body = await jsonBody(c.req.raw)
    if (!isObject(body))
      throw new ApiError('invalid_body', 'Send a JSON object `{ "url": "https://…", "providers"?: [...], "types"?: [...], "description"?: "…" }`.')
    for (const name of Object.keys(body)) {
      if (!FIELDS.includes(name))
        throw new ApiError('unknown_field', `Unknown field ${JSON.stringify(name.slice(0, 80))}; allowed: ${FIELDS.join(', ')}.`, {
          extras: { param: name, allowed: FIELDS },
        })
    }
    if (typeof body.url !== 'string')
      throw new ApiError('invalid_body', '`url` (the https URL events are POSTed to) is required.', { extras: { param: 'url' } })
    const refused = destinationProblem(body.url, c.get('services').gateway.sandbox)
    if (refused) throw new ApiError('invalid_destination', refused, { extras: { param: 'url' } })
    const known = providers.list.map((p) => p.name)
    const wanted = stringList(body.providers, 'providers') ?? known.filter((name) => hasProviderScope(key, name))
    for (const name of wanted) {
      if (!known.includes(name)) throw new ApiError('unknown_provider', `Unknown provider; allowed: ${known.join(', ')}.`, { extras: { allowed: known } })
      if (!hasProviderScope(key, name)) throw new ApiError('forbidden_scope', `This gateway key may not read ${name} assets, so it may not subscribe to them.`)
    }
    if (wanted.length === 0) throw new ApiError('forbidden_scope', 'This gateway key may read no provider, so it has nothing to subscribe to.')
    const types = stringList(body.types, 'types') ?? [...ASSET_EVENT_TYPES]
    const allowedTypes: readonly string[] = ASSET_EVENT_TYPES
    const unknownType = types.find((t) => !allowedTypes.includes(t))
    if (unknownType !== undefined) {
      throw new ApiError('unknown_event_type', `Unknown event type ${JSON.stringify(unknownType.slice(0, 80))}; allowed: ${ASSET_EVENT_TYPES.join(', ')}.`, {
        extras: { allowed: [...ASSET_EVENT_TYPES] },
      })
    }
    if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 200)) {
      throw new ApiError('invalid_body', '`description` must be a string of at most 200 characters.', { extras: { param: 'description' } })
    }
    const kv = c.env.ASSET_KV
    const mine = (await listSubscriptionMetas(kv)).filter((s) => s.meta.key_digest === digest)
    if (mine.length >= MAX_PER_KEY) throw new ApiError('too_many_subscriptions', `A gateway key may hold at most ${MAX_PER_KEY} subscriptions.`)
    const secret = newSecret()
    const sub: StoredSubscription = {
      id: `sub_${crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`,
      url: body.url,
      providers: wanted,
      types: types as AssetEventType[],
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      created_at: new Date().toISOString(),
      key_digest: digest,
      key_id: key.id,
      secrets: [{ secret }],
    }
    await putSubscription(kv, sub)
    return c.json({ ...view(sub), secret }, 201, { 'cache-control': 'no-store', location: `/subscriptions/${sub.id}` })
  })

  subs.get('/subscriptions', async (c) => {
    const digest = await owner(c)
    const kv = c.env.ASSET_KV
    const ids = (await listSubscriptionMetas(kv)).filter((s) => s.meta.key_digest === digest).map((s) => s.id)
    const found = await Promise.all(ids.map((id) => getSubscription(kv, id)))
    const subscriptions = found.filter((s): s is StoredSubscription => s !== null).map(view)
    return c.json({ subscriptions }, 200, { 'cache-control': 'no-store' })
  })

  subs.get('/subscriptions/:id', async (c) => {
    const sub = await owned(c.env.ASSET_KV, c.req.param('id'), await owner(c))
    return c.json(view(sub), 200, { 'cache-control': 'no-store' })
  })

  subs.delete('/subscriptions/:id', async (c) => {
    const kv = c.env.ASSET_KV
    const sub = await owned(kv, c.req.param('id'), await owner(c))
    await deleteSubscription(kv, sub.id)
    c.executionCtx.waitUntil(deleteAttempts(kv, sub.id).catch(() => {}))
    return c.body(null, 204)
  })

  subs.post('/subscriptions/:id/rotate-secret', async (c) => {
    const kv = c.env.ASSET_KV
    const sub = await owned(kv, c.req.param('id'), await owner(c))
    const now = Date.now()
    const current = sub.secrets.find((s) => !s.expires_at)
    const secret = newSecret()
    const expiresAt = new Date(now + ROTATION_OVERLAP_MS).toISOString()
    // The new secret signs from now on; the one it replaces signs beside it for 24 hours. An older one goes.
    sub.secrets = [{ secret }, ...(current ? [{ secret: current.secret, expires_at: expiresAt }] : [])]
    await putSubscription(kv, sub)
    return c.json({ ...view(sub), secret }, 200, { 'cache-control': 'no-store' })
  })

  subs.post('/subscriptions/:id/test', async (c) => {
    const kv = c.env.ASSET_KV
    const sub = await owned(kv, c.req.param('id'), await owner(c))
    const event: AssetEvent = { id: newEventId(), type: 'ping', occurred_at: new Date().toISOString(), subscription_id: sub.id }
    await putEvent(kv, event) // so it can be redelivered too
    await c.env.ASSET_EVENTS.send(await packEvent(kv, { kind: 'delivery', subscription: sub.id, event }))
    return c.json({ event_id: event.id, queued: true }, 202)
  })

  subs.get('/subscriptions/:id/deliveries', async (c) => {
    const kv = c.env.ASSET_KV
    const sub = await owned(kv, c.req.param('id'), await owner(c))
    const raw = c.req.query('limit')
    const limit = raw === undefined ? 50 : Number(raw)
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ApiError('invalid_query', '`limit` must be a whole number from 1 to 100.', { extras: { param: 'limit' } })
    }
    return c.json({ deliveries: await listAttempts(kv, sub.id, limit) }, 200, { 'cache-control': 'no-store' })
  })

  subs.post('/subscriptions/:id/deliveries/:event_id/redeliver', async (c) => {
    const kv = c.env.ASSET_KV
    const sub = await owned(kv, c.req.param('id'), await owner(c))
    const event = await getEvent<AssetEvent>(kv, c.req.param('event_id'))
    const forThis =
      event &&
      (event.type === 'ping' ? event.subscription_id === sub.id : event.provider && sub.providers.includes(event.provider) && sub.types.includes(event.type))
    if (!event || !forThis) throw new ApiError('event_not_found', 'No such event for this subscription (events are kept 7 days).')
    await c.env.ASSET_EVENTS.send(await packEvent(kv, { kind: 'delivery', subscription: sub.id, event, redelivery: true }))
    return c.json({ event_id: event.id, queued: true }, 202)
  })

  return subs
}
