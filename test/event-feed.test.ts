import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { pollFeed, recheckPending, runCron } from '../src/freshness/cron'
import { RECHECK_PREFIX } from '../src/freshness/pending-recheck'
import { lookupDeps } from '../src/http/services'
import { GUMNUT_CURSOR_KEY } from '../src/providers/gumnut/feed'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { adapterOf, call, callApp, gumnutRecord, resetState, sandboxStats, UPSTREAM, worldWorker } from './helpers'

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

/** A cron run's dependencies, with its background work collected and awaited. */
function cronDeps(envPatch: Partial<Env> = {}, fetcher?: typeof fetch) {
  const ctx = createExecutionContext()
  const { gateway } = worldWorker(fetcher ? { fetch: fetcher } : {})
  const deps = lookupDeps(gateway, { ...env, ...envPatch } as Env, (p) => ctx.waitUntil(p))
  return { deps, settled: () => waitOnExecutionContext(ctx) }
}

const pollGumnutEvents = (deps: ReturnType<typeof cronDeps>['deps']) => pollFeed(deps, adapterOf('gumnut'))

const GUMNUT_IMAGE = `/gumnut/api/assets/${GUMNUT_SAMPLE.image}`
const description = async (path: string) => ((await (await callApp(path)).response.json()) as { description: string }).description

describe("Gumnut's event feed", () => {
  it('applies asset_updated from the feed: the next lookup sees the edit', async () => {
    expect(await description(GUMNUT_IMAGE)).toBe('A colour test card.')
    await call('/__sandbox/gumnut/_events', { method: 'POST', body: JSON.stringify({ event_type: 'asset_updated', id: GUMNUT_SAMPLE.image }) })
    expect(await description(GUMNUT_IMAGE)).toBe('A colour test card.') // cached
    const { deps, settled } = cronDeps()
    expect(await pollGumnutEvents(deps)).toEqual({ applied: 1, assets: 1, pages: 1 })
    await settled()
    expect(await description(GUMNUT_IMAGE)).toBe('A colour test card. (edit 2)')
    expect(await env.ASSET_KV.get(GUMNUT_CURSOR_KEY)).toBe('cur_00000001')
    expect((await pollGumnutEvents(deps)).applied).toBe(0) // nothing new after the cursor
  })

  it('asset_deleted leaves a not-found record', async () => {
    await callApp(GUMNUT_IMAGE)
    await call('/__sandbox/gumnut/_events', { method: 'POST', body: JSON.stringify({ event_type: 'asset_deleted', id: GUMNUT_SAMPLE.image }) })
    await pollGumnutEvents(cronDeps().deps)
    const calls = sandboxStats.calls('gumnut')
    expect((await callApp(GUMNUT_IMAGE)).response.status).toBe(404)
    expect(sandboxStats.calls('gumnut')).toBe(calls)
  })

  it('follows pages while has_more', async () => {
    for (let i = 0; i < 250; i++)
      await call('/__sandbox/gumnut/_events', { method: 'POST', body: JSON.stringify({ event_type: 'asset_created', id: `asset_n${i}` }) })
    const result = await pollGumnutEvents(cronDeps().deps)
    expect(result).toEqual({ applied: 250, assets: 250, pages: 3 })
    expect(await env.ASSET_KV.get(GUMNUT_CURSOR_KEY)).toBe('cur_00000250')
  }, 30_000) // 250 events through the sandbox: past vitest's 5 s default on a loaded machine

  it('applies several events of one asset on one page with one upstream call, by its last event', async () => {
    await callApp(GUMNUT_IMAGE)
    const post = (event_type: string) => call('/__sandbox/gumnut/_events', { method: 'POST', body: JSON.stringify({ event_type, id: GUMNUT_SAMPLE.image }) })
    await post('asset_updated')
    await post('metadata_updated')
    await post('asset_updated')
    const calls = sandboxStats.calls('gumnut')
    const { deps, settled } = cronDeps()
    expect(await pollGumnutEvents(deps)).toEqual({ applied: 3, assets: 1, pages: 1 })
    await settled()
    expect(sandboxStats.calls('gumnut') - calls).toBe(1) // one re-fetch (the feed itself is not an asset call)
    expect(await description(GUMNUT_IMAGE)).toMatch(/\(edit \d+\)$/) // the latest state, from the re-warmed cache
    expect(sandboxStats.calls('gumnut') - calls).toBe(1)

    await post('asset_updated')
    await post('asset_deleted')
    expect(await pollGumnutEvents(deps)).toEqual({ applied: 2, assets: 1, pages: 1 })
    expect((await callApp(GUMNUT_IMAGE)).response.status).toBe(404) // the last event wins
  })

  it('a batch that fails half-way leaves the cursor where it was; the next run applies it', async () => {
    const events = [
      { created_at: '2026-11-23T00:00:00Z', cursor: 'c1', entity_id: 'asset_one', entity_type: 'asset', event_type: 'asset_updated' },
      { created_at: '2026-11-23T00:00:01Z', cursor: 'c2', entity_id: 'asset_two', entity_type: 'asset', event_type: 'asset_updated' },
      { created_at: '2026-11-23T00:00:02Z', cursor: 'c3', entity_id: 'asset_three', entity_type: 'asset', event_type: 'asset_updated' },
    ]
    let providerDown = true
    const fetched: string[] = []
    const upstream: typeof fetch = async (input, init) => {
      const url = new URL(new Request(input, init).url)
      if (url.pathname === '/api/events') {
        const after = url.searchParams.get('after_cursor')
        const start = after ? events.findIndex((e) => e.cursor === after) + 1 : 0
        return Response.json({ data: events.slice(start), has_more: false })
      }
      const id = url.pathname.split('/').pop() ?? ''
      fetched.push(id)
      if (id === 'asset_two' && providerDown) return Response.json({ detail: 'down' }, { status: 500 })
      return Response.json(gumnutRecord(id))
    }
    const { deps } = cronDeps({ GUMNUT_BASE_URL: UPSTREAM }, upstream)
    await expect(pollGumnutEvents(deps)).rejects.toThrow()
    expect(await env.ASSET_KV.get(GUMNUT_CURSOR_KEY)).toBeNull()
    expect(fetched).toEqual(['asset_one', 'asset_two'])

    providerDown = false
    expect(await pollGumnutEvents(deps)).toEqual({ applied: 3, assets: 3, pages: 1 })
    expect(await env.ASSET_KV.get(GUMNUT_CURSOR_KEY)).toBe('c3')
    expect(fetched).toEqual(['asset_one', 'asset_two', 'asset_one', 'asset_two', 'asset_three'])
  })
})

describe('Spotify re-check', () => {
  const PROCESSING = `/spotify/ad_accounts/${SAMPLE.adAccount}/assets/${SAMPLE.processing}`
  const status = async () => ((await (await callApp(PROCESSING)).response.json()) as { status: string }).status

  it('turns a cached PROCESSING into READY once Spotify finishes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    expect(await status()).toBe('PROCESSING')
    expect((await env.ASSET_KV.list({ prefix: RECHECK_PREFIX })).keys).toHaveLength(1)

    const { deps, settled } = cronDeps()
    expect(await recheckPending(deps)).toEqual({ checked: 1, settled: 0 }) // still processing at Spotify
    vi.setSystemTime(Date.now() + 31_000) // the sandbox finishes processing after 30 s
    expect(await recheckPending(deps)).toEqual({ checked: 1, settled: 1 })
    await settled()

    const calls = sandboxStats.calls('spotify')
    const { response } = await callApp(PROCESSING)
    expect(((await response.json()) as { status: string }).status).toBe('READY')
    expect(response.headers.get('cache-status')).toMatch(/hit/) // the cron re-warmed it
    expect(sandboxStats.calls('spotify')).toBe(calls)
    expect((await env.ASSET_KV.list({ prefix: RECHECK_PREFIX })).keys).toHaveLength(0)
  })

  it('runs the feed and the re-check in one cron, each despite the other failing', async () => {
    await callApp(PROCESSING)
    const { deps } = cronDeps({ GUMNUT_BASE_URL: 'https://upstream.test' }, () => Promise.reject(new Error('down')))
    await expect(runCron(deps)).resolves.toBeUndefined()
  })
})
