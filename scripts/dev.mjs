#!/usr/bin/env node
// `npm run dev [-- --port N]`: wrangler dev on the development entry (src/dev.ts), with the built-in
// sandbox for every provider that has no credentials in .dev.vars (or .env), and the real provider
// for every one that has them all. Extra arguments go to wrangler dev as they are. Development
// secrets reach wrangler through an env file only this user can read, never the command line.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { CATALOG } from '../src/providers/catalog.ts'

import { DEV_GATEWAY_KEY } from './dev-key.mjs'

const args = process.argv.slice(2)
const portAt = args.findIndex((a) => a === '--port' || a.startsWith('--port='))
const port = portAt < 0 ? '8787' : args[portAt].includes('=') ? args[portAt].split('=')[1] : args[portAt + 1]
if (portAt < 0) args.push('--port', port)
const origin = `http://localhost:${port}`

const readEnv = (path) => (existsSync(path) ? parseEnv(readFileSync(path, 'utf8')) : {})
// .dev.vars wins over .env, as in wrangler.
const configured = { ...readEnv('.env'), ...readEnv('.dev.vars') }

const vars = {}
const modes = []
for (const provider of CATALOG) {
  for (const [name, value] of Object.entries(provider.sandboxSecrets)) if (!configured[name]) vars[name] = value
  if (provider.secrets.every((s) => configured[s])) {
    modes.push(`${provider.name}: real provider (.dev.vars)`)
    continue
  }
  modes.push(`${provider.name}: sandbox`)
  for (const [name, path] of Object.entries(provider.sandboxEndpoints)) vars[name] = `${origin}${path}`
  for (const secret of provider.secrets) vars[secret] = 'sandbox'
}

// Signed links need a signing key: without one configured, a fresh one per run (links minted
// before a restart then answer 403, as links signed with a retired key do).
if (!configured.LINK_SIGNING_KEYS) {
  vars.LINK_SIGNING_KEYS = JSON.stringify({ dev: randomBytes(32).toString('base64') })
  vars.LINK_SIGNING_KEY_ID = 'dev'
  modes.push('links: signed with a development key made for this run')
}

const quote = (value) => `'${String(value).replace(/'/g, '')}'`
mkdirSync('.wrangler', { recursive: true })
const envFile = '.wrangler/dev.env'
writeFileSync(
  envFile,
  `${Object.entries({ ...configured, ...vars })
    .map(([k, v]) => `${k}=${quote(v)}`)
    .join('\n')}\n`,
  { mode: 0o600 },
)
chmodSync(envFile, 0o600)

console.log(`asset-edge dev on ${origin}\n  ${modes.join('\n  ')}\n  development key: ${DEV_GATEWAY_KEY}\n`)
// /openapi.json is served from KV: publish this build's spec to the same local state first.
const persistAt = args.indexOf('--persist-to')
execFileSync(process.execPath, ['scripts/publish-spec.mjs', ...(persistAt >= 0 ? ['--persist-to', args[persistAt + 1]] : [])], { stdio: 'inherit' })

// No --test-scheduled: wrangler's /__scheduled takes no key. `npm run webhook -- gumnut …` runs the
// cron through POST /__sandbox/_scheduled, which needs the development key. The development key is public (it is in the README), and not a declared secret, which is all
// wrangler reads from an env file: it goes as a var.
const devKey = ['--var', `DEV_GATEWAY_KEY:${DEV_GATEWAY_KEY}`]
const child = spawn('wrangler', ['dev', 'src/dev.ts', '--env-file', envFile, ...devKey, ...args], { stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
