import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

/**
 * The workerd suite runs on the workerd `npm run dev` runs: package.json's `overrides` moves
 * @cloudflare/vitest-plugin's exactly pinned miniflare (and wrangler) onto wrangler's own
 * (docs/development.md, "Runtime versions"). This fails when a wrangler upgrade leaves the
 * override behind, so the two would drift apart again unnoticed.
 */
type Package = { dir: string; name: string; version: string }

/** The package folder holding a resolved file: the nearest package.json up the tree. */
function packageOf(file: string): Package {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const path = join(dir, 'package.json')
    if (!existsSync(path)) continue
    const { name, version } = JSON.parse(readFileSync(path, 'utf8')) as { name?: string; version?: string }
    if (name && version) return { dir, name, version }
  }
  throw new Error(`no package.json above ${file}`)
}

/** Resolves `name` the way code in the `from` package does. */
function resolveFrom(from: Package, name: string): Package {
  return packageOf(createRequire(join(from.dir, 'package.json')).resolve(name))
}

const here = createRequire(import.meta.url)
const root = packageOf(fileURLToPath(import.meta.url))
const wrangler = packageOf(here.resolve('wrangler'))
const plugin = packageOf(join(root.dir, 'node_modules/@cloudflare/vitest-plugin/package.json'))

describe('runtime versions', () => {
  it("the vitest plugin loads wrangler's miniflare and workerd, the same installed copies", () => {
    const devMiniflare = resolveFrom(wrangler, 'miniflare')
    const testMiniflare = resolveFrom(plugin, 'miniflare')
    expect(testMiniflare.version).toBe(devMiniflare.version)
    expect(testMiniflare.dir).toBe(devMiniflare.dir)
    const devWorkerd = resolveFrom(wrangler, 'workerd')
    expect(resolveFrom(devMiniflare, 'workerd')).toEqual(devWorkerd)
    expect(resolveFrom(testMiniflare, 'workerd')).toEqual(devWorkerd)
    expect(resolveFrom(plugin, 'wrangler')).toEqual(wrangler)
  })

  it("package.json's override names the miniflare version wrangler pins", () => {
    const pins = JSON.parse(readFileSync(join(wrangler.dir, 'package.json'), 'utf8')).dependencies
    const overrides = JSON.parse(readFileSync(join(root.dir, 'package.json'), 'utf8')).overrides
    expect(overrides['@cloudflare/vitest-plugin'].miniflare).toBe(pins.miniflare)
  })
})
