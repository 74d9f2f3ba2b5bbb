import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from 'wrangler'
import { bundleGateway, type Cluster, type ClusterStorage, startCluster } from './multi-isolate'

/**
 * `npm run keys` against a gateway reading the same local storage, as `npm run dev` would: the CLI
 * writes with wrangler's Miniflare, the gateway reads with the tests' one (the same version, through
 * package.json's overrides), bound as wrangler binds ASSET_KV from wrangler.toml. (Times are in docs/gateway-keys.md; no timing asserted here.)
 */
const run = promisify(execFile)
const ASSET = '/frameio/v2/assets/c1100000-0000-4000-8000-000000000001'

let dir: string
let cluster: Cluster | undefined

/** Runs the CLI on the test's storage folder; stderr may hold only progress lines. */
async function keys(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, ['scripts/keys.mjs', ...args, '--persist-to', dir])
  for (const line of stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^keys: .+…$/)
  return stdout
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'asset-edge-keys-'))
})
afterAll(async () => {
  await cluster?.mf.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe('npm run keys (local storage)', () => {
  it('a created key opens its providers on a gateway reading the same storage, and a revoked one stops', async () => {
    const created = await keys('create', '--name', 'cli round trip', '--providers', 'frameio')
    const key = /^ {2}key: +(ae_\S+)$/m.exec(created)?.[1] ?? ''
    const id = /^ {2}id: +([0-9a-f]{12})$/m.exec(created)?.[1] ?? ''
    expect(key).not.toBe('')
    expect(id).not.toBe('')
    expect(await keys('list')).toMatch(new RegExp(`^${id} +cli round trip +frameio +no +no +no +\\S+Z$`, 'm'))

    // ASSET_KV as wrangler binds it locally (wrangler dev, getPlatformProxy): the CLI must agree.
    // Without [secrets], which KV does not depend on, wrangler has no missing secret to warn about.
    const config = { ...unstable_readConfig({ config: 'wrangler.toml' }), secrets: undefined }
    const kvNamespaces = unstable_getMiniflareWorkerOptions(config).workerOptions.kvNamespaces as ClusterStorage['kvNamespaces']
    cluster = await startCluster(await bundleGateway(), 1, { KEY_CACHE_TTL_S: '0' }, { gate: false, kvNamespaces, persistTo: dir })
    const lookup = async (path: string) => (await cluster?.fetch('gw0', path, { headers: { 'x-api-key': key } }))?.status
    expect(await lookup(ASSET)).toBe(200)
    expect(await lookup('/spotify/ad_accounts/ce4ff15e-f04d-48b9-9ddf-fb3c85fbd57a/assets/c1100000-0000-4000-8000-000000000002')).toBe(403)

    expect(await keys('revoke', id.slice(0, 8))).toContain(`Revoked gateway key ${id} (cli round trip)`)
    expect(await lookup(ASSET)).toBe(401)
    expect(await keys('list')).toContain('No gateway keys in local dev ASSET_KV.')
  }, 120_000)

  it('refuses bad flags with one line and exit status 1', async () => {
    const failed = await run(process.execPath, ['scripts/keys.mjs', 'create', '--name', 'x', '--providers', 'nope', '--persist-to', dir]).catch((e) => e)
    expect(failed.code).toBe(1)
    expect(failed.stderr.trim().split('\n').at(-1)).toBe('keys: unknown provider "nope"; known: spotify, sync, gumnut, frameio, or *')
    const remote = await run(process.execPath, ['scripts/keys.mjs', 'list', '--remote', '--persist-to', dir]).catch((e) => e)
    expect(remote.code).toBe(1)
    expect(remote.stderr).toContain('--persist-to names local storage')
  }, 60_000)
})
