#!/usr/bin/env node
// `npm run dev [-- --port N]`: wrangler dev on the development entry (src/dev.ts), with the built-in
// sandbox for every provider that has no credentials in .dev.vars (or .env), and the real provider
// for every one that has them all. Extra arguments go to wrangler dev as they are. Development
// secrets reach wrangler through an env file only this user can read, never the command line.
// The URL it serves on goes to .wrangler/dev-url, where `npm run link`, `webhook` and `stats` find it.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { experimental_readRawConfig } from 'wrangler'
import { CATALOG } from '../src/providers/catalog.ts'

import { DEV_GATEWAY_KEY } from './dev-key.mjs'
import { DEV_URL_FILE } from './gateway-url.mjs'

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

// wrangler.toml [secrets] required names only what every deployment needs, and with a [secrets]
// table wrangler dev loads only those names from an env file: a provider's optional secrets would
// be dropped. Dev runs on the same configuration minus that table (written next to wrangler.toml,
// so every relative path in it still holds).
const { rawConfig } = experimental_readRawConfig({ config: 'wrangler.toml' })
delete rawConfig.secrets
const devConfig = '.wrangler.dev.json'
writeFileSync(devConfig, `${JSON.stringify(rawConfig, null, 2)}\n`)
writeFileSync(DEV_URL_FILE, `${origin}\n`)

// No --test-scheduled: wrangler's /__scheduled takes no key. `npm run webhook -- gumnut …` runs the
// cron through POST /__sandbox/_scheduled, which needs the development key. The development key is public (it is in the README), and not a declared secret, which is all
// wrangler reads from an env file: it goes as a var.
const devKey = ['--var', `DEV_GATEWAY_KEY:${DEV_GATEWAY_KEY}`]
const child = spawn('wrangler', ['dev', 'src/dev.ts', '-c', devConfig, '--env-file', envFile, ...devKey, ...args], { stdio: 'inherit' })
child.on('exit', (code, signal) => {
  rmSync(DEV_URL_FILE, { force: true })
  process.exit(code ?? (signal ? 1 : 0))
})
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
