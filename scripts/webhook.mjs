#!/usr/bin/env node
// Sends a provider event to the local dev server through the sandbox providers:
//   npm run webhook -- frameio <asset.updated|asset.ready|asset.deleted|asset.label.updated|…> <asset uuid>
//   npm run webhook -- gumnut <asset_updated|asset_deleted|metadata_updated|asset_created> <asset_…>
// Frame.io: the sandbox changes the asset and signs the webhook; this script delivers it to
// /webhooks/frameio. Gumnut: the sandbox changes the asset and appends to its events feed; this
// script then runs the Cron Trigger (/__scheduled) so the gateway reads the feed at once.
// The sandbox's control routes take the development key.
import { parseArgs } from 'node:util'
import { CATALOG } from '../src/providers/catalog.ts'
import { DEV_GATEWAY_KEY } from './dev-key.mjs'
import { gatewayUrl } from './gateway-url.mjs'

const USAGE = `usage: npm run webhook -- <provider> <event type> <asset id> [--url URL]
  providers with events in the sandbox: frameio (signed webhooks), gumnut (events feed)
  --url URL   the dev gateway (default ASSET_EDGE_URL, else the running npm run dev, else http://localhost:8787); --base is an alias`

let parsed
try {
  parsed = parseArgs({ allowPositionals: true, options: { url: { type: 'string' }, base: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
} catch (err) {
  console.error(`webhook: ${err.message}\n${USAGE}`)
  process.exit(1)
}
if (parsed.values.help) {
  console.log(USAGE)
  process.exit(0)
}
const base = gatewayUrl(parsed.values.url ?? parsed.values.base)
const [provider, type, id] = parsed.positionals

function usage(message) {
  console.error(`webhook: ${message}\n${USAGE}`)
  process.exit(1)
}
if (!provider || !type || !id) usage('missing arguments')
if (!CATALOG.some((p) => p.name === provider)) usage(`unknown provider ${provider}; one of ${CATALOG.map((p) => p.name).join(', ')}`)

async function post(path, body, headers = { 'content-type': 'application/json', authorization: `Bearer ${DEV_GATEWAY_KEY}` }) {
  const response = await fetch(new URL(path, base), { method: 'POST', body, headers })
  const text = await response.text()
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${text}`)
  return text
}

try {
  if (provider === 'frameio') {
    const delivery = JSON.parse(await post('/__sandbox/frameio/_webhooks', JSON.stringify({ type, id })))
    console.log(`sandbox Frame.io: ${type} for ${id}; delivering the signed webhook`)
    console.log(await post('/webhooks/frameio', delivery.body, delivery.headers))
  } else if (provider === 'gumnut') {
    const event = JSON.parse(await post('/__sandbox/gumnut/_events', JSON.stringify({ event_type: type, id })))
    console.log(`sandbox Gumnut: ${type} for ${id} at cursor ${event.cursor}; running the cron`)
    const cron = await fetch(new URL('/__scheduled?cron=*+*+*+*+*', base))
    console.log(`cron: ${cron.status} ${await cron.text()}`)
  } else {
    usage(`${provider} sends no events the sandbox can play; frameio or gumnut`)
  }
} catch (err) {
  console.error(`webhook: ${err.message}`)
  process.exit(1)
}
