#!/usr/bin/env node
// Publishes the bundled gateway spec (src/generated/asset-edge.openapi.json) to ASSET_KV under the
// key its build serves (src/generated/spec-key.ts), so /openapi.json answers it without the spec
// weighing on the Worker bundle. Local dev storage by default; `--remote` for the deployed
// namespace; `--persist-to DIR` when wrangler dev uses another state folder.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const key = /SPEC_KEY = '([^']+)'/.exec(readFileSync(join(root, 'src/generated/spec-key.ts'), 'utf8'))?.[1]
if (!key) {
  console.error('spec:publish: src/generated/spec-key.ts names no key; run `npm run codegen`.')
  process.exit(1)
}
const args = process.argv.slice(2)
const persistAt = args.indexOf('--persist-to')
const where = args.includes('--remote') ? ['--remote'] : ['--local', ...(persistAt >= 0 ? ['--persist-to', args[persistAt + 1]] : [])]
const path = join(root, 'src/generated/asset-edge.openapi.json')
execFileSync(join(root, 'node_modules/.bin/wrangler'), ['kv', 'key', 'put', '--binding', 'ASSET_KV', key, '--path', path, ...where], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`, WRANGLER_SEND_METRICS: 'false' },
})
console.log(`spec:publish: ${key} (${where.join(' ')})`)
