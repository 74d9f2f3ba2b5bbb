#!/usr/bin/env node
// Builds the Worker's static assets into .wrangler/assets (wrangler.toml [assets]): the gateway's
// bundled OpenAPI document (src/generated/asset-edge.openapi.json, from `npm run codegen`), the docs
// page (static/) and the docs viewer, Scalar's standalone bundle copied from node_modules at the
// version package-lock.json pins, so /docs renders with no network and no CDN. wrangler runs this
// before `wrangler dev` and `wrangler deploy` ([build] command); the tests run it once (vitest globalSetup).
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const ASSETS_DIR = join(ROOT, '.wrangler', 'assets')

export function buildAssets() {
  const viewer = join(ROOT, 'node_modules/@scalar/api-reference/dist/browser/standalone.js')
  rmSync(ASSETS_DIR, { recursive: true, force: true })
  mkdirSync(join(ASSETS_DIR, 'docs'), { recursive: true })
  cpSync(join(ROOT, 'static'), ASSETS_DIR, { recursive: true })
  copyFileSync(join(ROOT, 'src/generated/asset-edge.openapi.json'), join(ASSETS_DIR, 'openapi.json'))
  copyFileSync(viewer, join(ASSETS_DIR, 'docs', 'scalar.js'))
  return ASSETS_DIR
}

if (process.argv[1] === fileURLToPath(import.meta.url)) buildAssets()
