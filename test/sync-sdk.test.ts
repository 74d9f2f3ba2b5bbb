import { env } from 'cloudflare:workers'
import { Sync, SyncClient, type SyncError } from '@sync.so/sdk'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SAMPLE } from '../src/sandbox/samples'
import { currentSandbox, DEV_KEY, ORIGIN, resetState, run, sandboxStats } from './helpers'

/**
 * The official `@sync.so/sdk` (0.3.0, Fern-generated), run in workerd itself: the SDK uses the
 * global `fetch`, which this test points at the gateway Worker (requests to the gateway's origin)
 * or at the sandbox Sync (requests to its base URL), all in-process. The SDK cannot tell them apart.
 */
const sent: string[] = []
beforeEach(async () => {
  await resetState()
  sent.length = 0
  vi.stubGlobal('fetch', async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init)
    sent.push(request.url)
    if (request.url.startsWith(ORIGIN)) return run(request)
    if (request.url.startsWith(env.SYNC_BASE_URL)) return currentSandbox().app.fetch(request)
    throw new Error(`unexpected call to ${request.url}`)
  })
})
afterEach(() => vi.unstubAllGlobals())

const viaGateway = () => new SyncClient({ baseUrl: `${ORIGIN}/sync`, apiKey: DEV_KEY })
const direct = () => new SyncClient({ baseUrl: env.SYNC_BASE_URL, apiKey: env.SYNC_API_KEY ?? '' })

async function failure(work: Promise<unknown>): Promise<SyncError> {
  try {
    await work
  } catch (err) {
    return err as SyncError
  }
  throw new Error('expected the SDK to throw')
}

describe('@sync.so/sdk against the gateway', () => {
  it('reads a found asset', async () => {
    const asset = await viaGateway().assets.get(SAMPLE.video)
    expect(asset).toMatchObject({ id: SAMPLE.video, type: 'VIDEO', name: 'example-video.mp4' })
    expect(asset.url).toMatch(/^https:\/\//)
  })

  it('raises the same error class with the same message for a missing asset as Sync itself', async () => {
    const fromGateway = await failure(viaGateway().assets.get(SAMPLE.unknown))
    const fromSync = await failure(direct().assets.get(SAMPLE.unknown))
    expect(fromGateway).toBeInstanceOf(Sync.NotFoundError)
    expect(fromGateway.constructor).toBe(fromSync.constructor)
    expect(fromGateway.message).toBe(fromSync.message)
    expect(fromGateway.statusCode).toBe(404)
    expect(fromGateway.body).toEqual(fromSync.body)
  })

  it('does not retry when Sync refuses the gateway credentials: one SDK call, one upstream call', async () => {
    const fromGateway = await failure(viaGateway().assets.get(SAMPLE.fail401))
    const fromSync = await failure(direct().assets.get(SAMPLE.fail401))
    expect(fromGateway).toBeInstanceOf(Sync.UnauthorizedError)
    expect(fromGateway.message).toBe(fromSync.message)
    expect(sent.filter((url) => url.startsWith(ORIGIN))).toHaveLength(1)
    expect(sandboxStats.calls('sync')).toBe(2) // one through the gateway, one direct
  })
})
