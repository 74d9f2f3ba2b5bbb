#!/usr/bin/env node
// Builds the Worker's static assets into .wrangler/assets (wrangler.toml [assets]): the gateway's
// bundled OpenAPI document (src/generated/asset-edge.openapi.json, from `npm run codegen`), the docs
// page (static/) and the docs viewer, Scalar's standalone bundle copied from node_modules at the
// version package-lock.json pins, so /docs renders with no network and no CDN. wrangler runs this
// before `wrangler dev` and `wrangler deploy` ([build] command); the tests run it once (vitest globalSetup).
import { copyFileSync, cpSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const ASSETS_DIR = join(ROOT, '.wrangler', 'assets')

/**
 * Builds into a folder of its own and moves it into place, so several `wrangler dev` processes
 * starting at once (the bench, the load test) never delete files another one is writing.
 */
export function buildAssets() {
  const viewer = join(ROOT, 'node_modules/@scalar/api-reference/dist/browser/standalone.js')
  const unique = `${process.pid}-${Math.random().toString(36).slice(2)}`
  const fresh = `${ASSETS_DIR}.new-${unique}`
  mkdirSync(join(fresh, 'docs'), { recursive: true })
  cpSync(join(ROOT, 'static'), fresh, { recursive: true })
  copyFileSync(join(ROOT, 'src/generated/asset-edge.openapi.json'), join(fresh, 'openapi.json'))
  copyFileSync(viewer, join(fresh, 'docs', 'scalar.js'))
  const old = `${ASSETS_DIR}.old-${unique}`
  try {
    renameSync(ASSETS_DIR, old)
  } catch {
    // nothing built yet, or another build is moving it right now
  }
  try {
    renameSync(fresh, ASSETS_DIR)
  } catch {
    // another build put the same files in place first
  }
  rmSync(fresh, { recursive: true, force: true })
  rmSync(old, { recursive: true, force: true })
  return ASSETS_DIR
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildAssets()
