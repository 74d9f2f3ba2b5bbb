#!/usr/bin/env node
// `npm run stats`: hit ratio by tier, p50/p99 upstream latency and error rate per provider.
//   (default)  the running `npm run dev`'s counters (GET /admin/stats with the development key)
//   --remote   the deployment's Workers Analytics Engine data over the last hour, through the SQL
//              API: needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (Account Analytics: Read)
//   --url URL  another gateway (default ASSET_EDGE_URL, else the running dev server); --key KEY (or
//              ASSET_EDGE_KEY) a key with the admin capability; --json prints the raw answer
import { parseArgs } from 'node:util'
import { DEV_GATEWAY_KEY } from './dev-key.mjs'
import { gatewayUrl } from './gateway-url.mjs'
import { QUERIES } from './stats-sql.mjs'

const USAGE = `usage: npm run stats -- [--remote] [--url URL] [--key KEY] [--json]
  hit ratio by tier, p50/p99 upstream latency and error rate per provider
  default: the running npm run dev (GET /admin/stats); --remote: Analytics Engine SQL API, last hour
  (CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN with Account Analytics Read)`

let values
try {
  ;({ values } = parseArgs({
    options: {
      remote: { type: 'boolean' },
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }))
} catch (err) {
  console.error(`stats: ${err.message}\n${USAGE}`)
  process.exit(1)
}
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}

const pct = (n) => `${(100 * Number(n)).toFixed(1)}%`
const ms = (n) => `${Math.round(Number(n))} ms`

/** Prints one table: a title and rows of named columns. */
function table(title, rows, columns) {
  console.log(`\n${title}`)
  if (rows.length === 0) return console.log('  (no data)')
  for (const row of rows) console.log(`  ${columns.map(([name, format]) => `${name} ${format ? format(row[name]) : row[name]}`).join('  ')}`)
}

function print({ tiers, latency, errors }) {
  const total = tiers.reduce((sum, row) => sum + Number(row.lookups), 0)
  table(
    'hit ratio by tier',
    tiers.map((row) => ({ ...row, ratio: total ? Number(row.lookups) / total : 0 })),
    [['tier'], ['lookups'], ['ratio', pct]],
  )
  table('upstream latency by provider', latency, [['provider'], ['calls'], ['p50_ms', ms], ['p99_ms', ms]])
  table('error rate by provider', errors, [['provider'], ['lookups'], ['errors'], ['rate', pct]])
}

async function remote() {
  const account = process.env.CLOUDFLARE_ACCOUNT_ID
  const token = process.env.CLOUDFLARE_API_TOKEN
  if (!account || !token) throw new Error('--remote needs CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (Account Analytics: Read)')
  const results = {}
  for (const [name, sql] of Object.entries(QUERIES)) {
    const response = await fetch(`https://api.cloudflare.com/client/v4/accounts/${account}/analytics_engine/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: `${sql} FORMAT JSON`,
    })
    if (!response.ok) throw new Error(`${name}: the SQL API answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
    results[name] = ((await response.json()).data ?? []).map((row) => ({ ...row }))
  }
  return { tiers: results['hit ratio by tier'], latency: results['upstream latency by provider'], errors: results['error rate by provider'] }
}

async function local() {
  const base = gatewayUrl(values.url)
  const key = values.key ?? process.env.ASSET_EDGE_KEY ?? DEV_GATEWAY_KEY
  let response
  try {
    response = await fetch(new URL('/admin/stats', base), { headers: { authorization: `Bearer ${key}` } })
  } catch (err) {
    throw new Error(`cannot reach ${base} (${err.cause?.code ?? err.message}); is \`npm run dev\` running?`)
  }
  if (!response.ok) throw new Error(`${base}/admin/stats answered ${response.status}: ${(await response.text()).slice(0, 300)}`)
  const stats = await response.json()
  console.log(`${base}: this isolate's counters since ${stats.since}; redirects ${stats.redirects}, events ${stats.events}`)
  return { tiers: stats.hit_ratio_by_tier, latency: stats.upstream_latency, errors: stats.error_rate }
}

try {
  const report = values.remote ? await remote() : await local()
  if (values.json) console.log(JSON.stringify(report, null, 2))
  else print(report)
} catch (err) {
  console.error(`stats: ${err.message}`)
  process.exit(1)
}
