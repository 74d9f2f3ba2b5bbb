#!/usr/bin/env node
// Sends a provider event to the local dev server through the sandbox providers:
//   npm run webhook -- frameio <asset.updated|asset.ready|asset.deleted|asset.label.updated|…> <asset uuid>
//   npm run webhook -- gumnut <asset_updated|asset_deleted|metadata_updated|asset_created> <asset_…>
// Frame.io: the sandbox changes the asset and signs the webhook; this script delivers it to
// /webhooks/frameio. Gumnut: the sandbox changes the asset and appends to its events feed; this
// script then runs the Cron Trigger (/__scheduled) so the gateway reads the feed at once.
// Options: --base http://localhost:8787
const args = process.argv.slice(2)
const baseAt = args.indexOf('--base')
const base = baseAt >= 0 ? args.splice(baseAt, 2)[1] : 'http://localhost:8787'
const [provider, type, id] = args

function usage(message) {
  console.error(`webhook: ${message}\nusage: npm run webhook -- frameio asset.updated <uuid> | gumnut asset_updated <asset_id> [--base URL]`)
  process.exit(1)
}
if (!provider || !type || !id) usage('missing arguments')

async function post(path, body, headers = { 'content-type': 'application/json' }) {
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
    usage(`unknown provider ${provider}; frameio or gumnut`)
  }
} catch (err) {
  console.error(`webhook: ${err.message}`)
  process.exit(1)
}
