#!/usr/bin/env node
// `npm run dev [-- --port N]`: wrangler dev with the built-in sandbox providers for every provider
// that has no credentials in .dev.vars, and the real provider for every one that has them.
// Extra arguments go to wrangler dev as they are.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'

export const DEV_GATEWAY_KEY = 'ae_dev_sandbox_key'

const args = process.argv.slice(2)
const portAt = args.findIndex((a) => a === '--port' || a.startsWith('--port='))
const port = portAt < 0 ? '8787' : args[portAt].includes('=') ? args[portAt].split('=')[1] : args[portAt + 1]
if (portAt < 0) args.push('--port', port)
const origin = `http://localhost:${port}`

const devVars = existsSync('.dev.vars')
  ? Object.fromEntries(
      readFileSync('.dev.vars', 'utf8')
        .split('\n')
        .map((line) => /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line))
        .filter(Boolean)
        .map((m) => [m[1], m[2]]),
    )
  : {}

const providers = {
  spotify: { secrets: ['SPOTIFY_CLIENT_ID', 'SPOTIFY_CLIENT_SECRET', 'SPOTIFY_REFRESH_TOKEN'], base: 'SPOTIFY_BASE_URL' },
  sync: { secrets: ['SYNC_API_KEY'], base: 'SYNC_BASE_URL' },
  gumnut: { secrets: ['GUMNUT_API_KEY'], base: 'GUMNUT_BASE_URL' },
  frameio: { secrets: ['FRAMEIO_TOKEN'], base: 'FRAMEIO_BASE_URL' },
}

const vars = { SANDBOX: 'on', DEV_GATEWAY_KEY }
const modes = []
for (const [name, { secrets, base }] of Object.entries(providers)) {
  if (secrets.every((s) => devVars[s])) {
    modes.push(`${name}: real provider (.dev.vars)`)
    continue
  }
  modes.push(`${name}: sandbox`)
  vars[base] = `${origin}/__sandbox/${name}`
  for (const s of secrets) vars[s] = 'sandbox'
  if (name === 'spotify') vars.SPOTIFY_TOKEN_URL = `${origin}/__sandbox/spotify-accounts/api/token`
}

// Signed links need a signing key: without one in .dev.vars, a fresh one per run (links minted
// before a restart then answer 403, as links signed with a retired key do).
if (!devVars.LINK_SIGNING_KEYS) {
  vars.LINK_SIGNING_KEYS = JSON.stringify({ dev: randomBytes(32).toString('base64') })
  vars.LINK_SIGNING_KEY_ID = 'dev'
  modes.push('links: signed with a development key made for this run')
}

// The sandbox Frame.io signs its webhooks with this secret (npm run webhook); real ones need .dev.vars.
export const DEV_WEBHOOK_SECRET = 'sandbox-frameio-webhook-secret'
if (!devVars.FRAMEIO_WEBHOOK_SECRET) vars.FRAMEIO_WEBHOOK_SECRET = DEV_WEBHOOK_SECRET

console.log(`asset-edge dev on ${origin}\n  ${modes.join('\n  ')}\n  development key: ${DEV_GATEWAY_KEY}\n`)
const varArgs = Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`])
// /openapi.json is served from KV: publish this build's spec to the same local state first.
const persistAt = args.indexOf('--persist-to')
execFileSync(process.execPath, ['scripts/publish-spec.mjs', ...(persistAt >= 0 ? ['--persist-to', args[persistAt + 1]] : [])], { stdio: 'inherit' })

// --test-scheduled serves /__scheduled, so `npm run webhook -- gumnut …` can run the cron at once.
const child = spawn('wrangler', ['dev', '--test-scheduled', ...varArgs, ...args], { stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
