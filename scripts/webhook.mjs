#!/usr/bin/env node
// Events against the local dev server (`npm run dev`):
//   npm run webhook -- listen [--port N]      a local subscriber: verifies each delivery with the
//                                             `standardwebhooks` package and prints the event
//   npm run webhook -- subscribe [--port N]   subscribes it (all providers, all types) and sends a ping
//   npm run webhook -- frameio <asset.updated|asset.ready|asset.deleted|asset.label.updated|…> <asset uuid>
//   npm run webhook -- gumnut <asset_updated|asset_deleted|metadata_updated|asset_created> <asset_…>
// Frame.io: the sandbox changes the asset and signs the webhook; this script delivers it to
// /webhooks/frameio. Gumnut: the sandbox changes the asset and appends to its events feed; this
// script then runs the Cron Trigger (POST /__sandbox/_scheduled) so the gateway reads the feed at once.
// The sandbox's control routes take the development key.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Webhook } from 'standardwebhooks'
import { CATALOG } from '../src/providers/catalog.ts'
import { DEV_GATEWAY_KEY } from './dev-key.mjs'
import { gatewayUrl } from './gateway-url.mjs'

const USAGE = `usage: npm run webhook -- <command> [flags]
  listen [--port N]          run a local subscriber on port N (default 8790): verifies every delivery
                             (Standard Webhooks signature) and prints the event
  subscribe [--port N]       subscribe that listener to every event, then send it a ping
  <provider> <event type> <asset id>
                             play a provider event: frameio (signed webhooks), gumnut (events feed)
  --url URL   the dev gateway (default ASSET_EDGE_URL, else the running npm run dev, else http://localhost:8787); --base is an alias`

const LISTENER_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '.wrangler', 'webhook-listener.json')

let parsed
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, base: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  })
} catch (err) {
  console.error(`webhook: ${err.message}\n${USAGE}`)
  process.exit(1)
}
if (parsed.values.help) {
  console.log(USAGE)
  process.exit(0)
}
const base = gatewayUrl(parsed.values.url ?? parsed.values.base)
const port = Number(parsed.values.port ?? 8790)
const [command, type, id] = parsed.positionals

function usage(message) {
  console.error(`webhook: ${message}\n${USAGE}`)
  process.exit(1)
}

async function call(method, path, body, headers = { 'content-type': 'application/json', authorization: `Bearer ${DEV_GATEWAY_KEY}` }) {
  const response = await fetch(new URL(path, base), { method, body, headers })
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
  return text
}
const post = (path, body, headers) => call('POST', path, body, headers)

/** The secrets `subscribe` saved (the latest subscription's), read anew for every delivery. */
function savedSecrets() {
  try {
    return [JSON.parse(readFileSync(LISTENER_FILE, 'utf8')).secret].filter(Boolean)
  } catch {
    return []
  }
}

function listen() {
  if (!Number.isInteger(port) || port < 1 || port > 65535) usage('--port must be a port number')
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const secrets = savedSecrets()
      const event = secrets
        .map((secret) => {
          try {
            return new Webhook(secret).verify(body, req.headers)
          } catch {
            return undefined
          }
        })
        .find(Boolean)
      if (!event) {
        console.log(
          `✗ ${new Date().toISOString()} refused a delivery: ${secrets.length ? 'bad signature' : 'no secret yet (run `npm run webhook -- subscribe`)'}`,
        )
        res.writeHead(401).end('bad signature')
        return
      }
      const what = event.type === 'ping' ? 'ping' : `${event.type} ${event.provider} ${JSON.stringify(event.asset)} state=${event.state}`
      console.log(`✓ ${new Date().toISOString()} ${event.id} ${what} (attempt id ${req.headers['webhook-id']}, signature verified)`)
      if (event.record !== undefined) console.log(`  record: ${JSON.stringify(event.record).slice(0, 300)}`)
      res.writeHead(204).end()
    })
  })
  server.listen(port, () => console.log(`listening for asset events on http://localhost:${port}/ (Ctrl-C to stop)`))
}

async function subscribe() {
  const created = JSON.parse(await post('/subscriptions', JSON.stringify({ url: `http://localhost:${port}/`, description: 'npm run webhook -- listen' })))
  mkdirSync(dirname(LISTENER_FILE), { recursive: true })
  writeFileSync(LISTENER_FILE, `${JSON.stringify({ id: created.id, secret: created.secret }, null, 2)}\n`, { mode: 0o600 })
  console.log(`subscribed ${created.id} → http://localhost:${port}/ (${created.providers.join(', ')}; ${created.types.join(', ')})`)
  console.log(`secret saved to ${LISTENER_FILE} for the listener`)
  const ping = JSON.parse(await post(`/subscriptions/${created.id}/test`))
  console.log(`ping ${ping.event_id} queued; try: npm run webhook -- frameio asset.updated 11111111-1111-4111-8111-111111111111`)
}

async function providerEvent(provider) {
  if (!type || !id) usage('missing arguments')
  if (!CATALOG.some((p) => p.name === provider)) usage(`unknown provider ${provider}; one of ${CATALOG.map((p) => p.name).join(', ')}`)
  if (provider === 'frameio') {
    const delivery = JSON.parse(await post('/__sandbox/frameio/_webhooks', JSON.stringify({ type, id })))
    console.log(`sandbox Frame.io: ${type} for ${id}; delivering the signed webhook`)
    console.log(await post('/webhooks/frameio', delivery.body, delivery.headers))
  } else if (provider === 'gumnut') {
    const event = JSON.parse(await post('/__sandbox/gumnut/_events', JSON.stringify({ event_type: type, id })))
    console.log(`sandbox Gumnut: ${type} for ${id} at cursor ${event.cursor}; running the cron`)
    console.log(`cron: ${await post('/__sandbox/_scheduled', '{}')}`)
  } else {
    usage(`${provider} sends no events the sandbox can play; frameio or gumnut`)
  }
}

try {
  if (!command) usage('missing command')
  else if (command === 'listen') listen()
  else if (command === 'subscribe') await subscribe()
  else await providerEvent(command)
} catch (err) {
  console.error(`webhook: ${err.message}`)
  process.exit(1)
}
