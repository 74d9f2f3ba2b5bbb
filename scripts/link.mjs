#!/usr/bin/env node
// `npm run link -- --provider gumnut --id asset_… --variant thumbnail [--ttl 300]`: mints a signed
// redirect link through POST /links and prints it. Talks to the local dev server (`npm run dev`,
// development key) unless told otherwise:
//   --url URL    another gateway (default ASSET_EDGE_URL, else the running `npm run dev`'s URL, else
//                http://localhost:8787; --base is an alias), --key KEY another gateway key
//   --remote     a deployment: --url URL (or ASSET_EDGE_URL) and the key in ASSET_EDGE_KEY
// Lookup fields: --ad-account (Spotify), --include (Gumnut, repeatable or comma separated),
// --include-deleted and --type (Frame.io). --json prints the whole answer.
import { parseArgs } from 'node:util'
import { CATALOG } from '../src/providers/catalog.ts'
import { DEV_GATEWAY_KEY as DEV_KEY } from './dev-key.mjs'
import { gatewayUrl } from './gateway-url.mjs'

/** The body field that carries `--id`, per provider: the asset id path parameter of its lookup route. */
const ID_FIELD = Object.fromEntries(CATALOG.map((p) => [p.name, p.assetIdParam]))

function fail(message) {
  console.error(`link: ${message}`)
  process.exit(1)
}

let values
try {
  ;({ values } = parseArgs({
    options: {
      provider: { type: 'string' },
      id: { type: 'string' },
      'ad-account': { type: 'string' },
      variant: { type: 'string' },
      ttl: { type: 'string' },
      include: { type: 'string', multiple: true },
      'include-deleted': { type: 'boolean' },
      type: { type: 'string' },
      base: { type: 'string' },
      key: { type: 'string' },
      remote: { type: 'boolean' },
      url: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }))
} catch (err) {
  fail(err.message)
}

if (values.help) {
  console.log(
    `usage: npm run link -- --provider ${Object.keys(ID_FIELD).join('|')} --id ID --variant NAME [--ttl S]\n` +
      '         [--ad-account ID] [--include X ...] [--include-deleted] [--type T]\n' +
      '         [--url URL (default ASSET_EDGE_URL, else the running npm run dev, else http://localhost:8787)] [--key KEY] | [--remote --url URL (key in ASSET_EDGE_KEY)] [--json]',
  )
  process.exit(0)
}

const { provider } = values
if (!provider || !Object.hasOwn(ID_FIELD, provider)) fail(`--provider must be one of ${Object.keys(ID_FIELD).join(', ')}`)
if (!values.id) fail('--id is required (the asset id)')
if (!values.variant) fail('--variant is required (e.g. original, thumbnail)')
if (provider === 'spotify' && !values['ad-account']) fail('--ad-account is required for spotify')

let base = gatewayUrl(values.url ?? values.base)
let key = values.key ?? DEV_KEY
if (values.remote) {
  base = values.url ?? process.env.ASSET_EDGE_URL
  key = values.key ?? process.env.ASSET_EDGE_KEY
  if (!base) fail('--remote needs --url https://<gateway> (or ASSET_EDGE_URL)')
  if (!key) fail('--remote needs a gateway key with the links scope in ASSET_EDGE_KEY')
}

const body = { provider, [ID_FIELD[provider]]: values.id, variant: values.variant }
if (values['ad-account']) body.ad_account_id = values['ad-account']
if (values.include) body.include = values.include.flatMap((v) => v.split(','))
if (values['include-deleted']) body.include_deleted = true
if (values.type) body.type = values.type
if (values.ttl !== undefined) {
  if (!/^\d+$/.test(values.ttl)) fail('--ttl must be a whole number of seconds')
  body.ttl_s = Number(values.ttl)
}

const endpoint = new URL('/links', base)
let response
try {
  response = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  })
} catch (err) {
  fail(`cannot reach ${endpoint.origin} (${err.cause?.code ?? err.message})${values.remote ? '' : '; is `npm run dev` running?'}`)
}
const answer = await response.json().catch(() => null)
if (response.status !== 201 || !answer?.url) {
  fail(`${response.status} ${answer?.code ?? ''}: ${answer?.detail ?? 'unexpected answer'}`)
}
if (values.json) {
  console.log(JSON.stringify(answer, null, 2))
} else {
  console.log(answer.url)
  console.error(`expires ${answer.expires_at} (${answer.variant})`)
}
