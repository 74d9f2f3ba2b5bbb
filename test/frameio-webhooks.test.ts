import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it } from 'vitest'
import { signFrameioWebhook } from '../src/providers/frameio/webhook'
import { SAMPLE } from '../src/sandbox/samples'
import { callApp, currentSandbox, expectProblem, resetState, sandboxStats } from './helpers'

beforeEach(resetState)

const SECRET = 'test-frameio-webhook-secret'
const IMAGE = `/frameio/v2/assets/${SAMPLE.image}`
const nowS = () => Math.floor(Date.now() / 1000)
const event = (type: string, id: string = SAMPLE.image) => JSON.stringify({ type, resource: { type: 'asset', id }, user: { id: 'u' }, team: { id: 't' } })

async function deliver(body: string, headers: Record<string, string>) {
  return (await callApp('/webhooks/frameio', { init: { method: 'POST', body, headers } })).response
}
async function signed(body: string, { secret = SECRET, timestamp = nowS() } = {}) {
  return deliver(body, await signFrameioWebhook(secret, body, timestamp))
}
const lookup = async (path = IMAGE) => {
  const { response } = await callApp(path)
  return { response, body: response.status === 200 ? ((await response.json()) as { label?: string; version?: number }) : undefined }
}

describe('Frame.io webhooks', () => {
  it('asset.updated: the next lookup returns the new state at once, without waiting for any TTL', async () => {
    expect((await lookup()).body?.label).toBe('in_progress')
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true }) // the asset changes at Frame.io…
    expect((await lookup()).body?.label).toBe('in_progress') // …the cache does not know yet
    const response = await signed(event('asset.updated'))
    expect(response.status).toBe(202)
    expect(await response.json()).toEqual({ received: true, type: 'asset.updated', effect: 'rewarm' })
    const after = await lookup()
    expect(after.body?.label).toBe('needs_review')
    expect(after.response.headers.get('cache-status')).toMatch(/hit/) // re-warmed, not fetched by this lookup
    expect(sandboxStats.calls('frameio')).toBe(2)
    const kv = await env.ASSET_KV.get<{ body: string }>(`cache:frameio/${SAMPLE.image}`, 'json')
    expect(kv?.body).toContain('needs_review') // KV re-warmed for every data centre
  })

  it('removes every cached variant of the asset (all query flags)', async () => {
    for (const q of ['', '?include_deleted=true', '?type=file']) await lookup(IMAGE + q)
    currentSandbox().state.change('frameio', SAMPLE.image, { bump: true })
    await signed(event('asset.label.updated'))
    for (const q of ['?include_deleted=true', '?type=file']) {
      const { response, body } = await lookup(IMAGE + q)
      expect(body?.label, q).toBe('needs_review')
      expect(response.headers.get('cache-status')).toMatch(/fwd=miss/)
    }
  })

  it('asset.ready turns a cached processing asset ready', async () => {
    const path = `/frameio/v2/assets/${SAMPLE.processing}`
    expect(((await (await callApp(path)).response.json()) as { upload_completed_at: unknown }).upload_completed_at).toBeNull()
    currentSandbox().state.change('frameio', SAMPLE.processing, { ready: true })
    await signed(event('asset.ready', SAMPLE.processing))
    const { response } = await callApp(path)
    expect(((await response.json()) as { transcoded_at: unknown }).transcoded_at).toBeTypeOf('string')
  })

  it('asset.deleted leaves a not-found record in every tier', async () => {
    await lookup()
    const calls = sandboxStats.calls('frameio')
    expect((await signed(event('asset.deleted'))).status).toBe(202)
    await expectProblem((await lookup()).response, 404, 'asset_not_found')
    expect(sandboxStats.calls('frameio')).toBe(calls) // answered from the not-found record
    const kv = await env.ASSET_KV.get<{ kind: string }>(`cache:frameio/${SAMPLE.image}`, 'json')
    expect(kv?.kind).toBe('not_found')
  })

  it('accepts the previous secret during rotation', async () => {
    expect((await signed(event('asset.updated'), { secret: 'test-frameio-webhook-secret-previous' })).status).toBe(202)
  })

  it('acknowledges and ignores unknown event types', async () => {
    await lookup()
    const response = await signed(JSON.stringify({ type: 'comment.created', resource: { type: 'comment', id: 'c1' } }))
    expect(response.status).toBe(202)
    expect(((await response.json()) as { ignored: boolean }).ignored).toBe(true)
    expect((await lookup()).response.headers.get('cache-status')).toMatch(/hit/)
  })

  describe('refused, with nothing invalidated', () => {
    const refusals: [string, () => Promise<Response>, number, string][] = [
      ['unsigned', () => deliver(event('asset.updated'), { 'content-type': 'application/json' }), 401, 'webhook_unsigned'],
      ['forged', () => signed(event('asset.updated'), { secret: 'not-the-secret' }), 401, 'webhook_bad_signature'],
      ['expired', () => signed(event('asset.updated'), { timestamp: nowS() - 360 }), 401, 'webhook_stale'],
      ['future-dated', () => signed(event('asset.updated'), { timestamp: nowS() + 360 }), 401, 'webhook_stale'],
      [
        'body altered after signing',
        async () => {
          const headers = await signFrameioWebhook(SECRET, event('asset.updated'), nowS())
          return deliver(event('asset.deleted'), headers)
        },
        401,
        'webhook_bad_signature',
      ],
      [
        'signed for another timestamp',
        async () => {
          const headers = await signFrameioWebhook(SECRET, event('asset.updated'), nowS())
          return deliver(event('asset.updated'), { ...headers, 'x-frameio-request-timestamp': String(nowS() - 1) })
        },
        401,
        'webhook_bad_signature',
      ],
      [
        'malformed signature',
        () => deliver(event('asset.updated'), { 'x-frameio-request-timestamp': String(nowS()), 'x-frameio-signature': 'v1=abc' }),
        401,
        'webhook_bad_signature',
      ],
      ['malformed body', () => signed('{"type": "asset.updated"'), 400, 'webhook_malformed'],
      ['body without resource', () => signed(JSON.stringify({ type: 'asset.updated' })), 400, 'webhook_malformed'],
      ['non-UUID asset id', () => signed(event('asset.updated', '../../etc')), 400, 'webhook_malformed'],
    ]

    it.each(refusals)('%s → %i %s', async (_name, send, status, code) => {
      await lookup()
      const calls = sandboxStats.calls('frameio')
      await expectProblem(await send(), status, code)
      const after = await lookup()
      expect(after.response.headers.get('cache-status')).toMatch(/hit/)
      expect(sandboxStats.calls('frameio')).toBe(calls)
    })

    it('replayed → 401 webhook_replayed', async () => {
      const body = event('asset.updated')
      const headers = await signFrameioWebhook(SECRET, body, nowS())
      expect((await deliver(body, headers)).status).toBe(202)
      await lookup()
      const calls = sandboxStats.calls('frameio')
      await expectProblem(await deliver(body, headers), 401, 'webhook_replayed')
      expect((await lookup()).response.headers.get('cache-status')).toMatch(/hit/)
      expect(sandboxStats.calls('frameio')).toBe(calls)
    })

    it('oversized → 413', async () => {
      const body = JSON.stringify({ type: 'asset.updated', resource: { type: 'asset', id: SAMPLE.image }, pad: 'x'.repeat(70_000) })
      await expectProblem(await signed(body), 413, 'webhook_too_large')
    })
  })
})
