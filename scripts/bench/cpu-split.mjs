#!/usr/bin/env node
// Where a memory hit's CPU goes, process by process: the gateway and the bare Hono Worker each under
// `wrangler dev`, autocannon against each in turn, and the CPU time per request of every process
// in each tree (wrangler's node, its esbuild watchers, the two workerd processes). It showed the
// access log's batches costing wrangler's own process more than the Worker's hit path.
//
//   node_modules/.bin/node scripts/bench/cpu-split.mjs [rounds=3] [--var NAME=value ...]
//
// `--var` sets a gateway var for the run (for example LOG_BATCH_LINES=50). For finding costs; the
// numbers of record come from `npm run bench`.
import { join } from 'node:path'
import autocannon from 'autocannon'
import { AUTH, assetPath, get } from './client.mjs'
import { descendants, processTable, stopAll, USER_HZ } from './processes.mjs'
import { ROOT, SETTINGS } from './settings.mjs'
import { startBaseline, startGateway, waitReady } from './targets.mjs'
import { benchId, bodyOf, startUpstream } from './upstream.mjs'

/** `root` and every process below it, with their CPU ticks. */
function tree(root) {
  const table = processTable()
  return [...table.filter((p) => p.pid === root), ...descendants(root, table)]
}

const args = process.argv.slice(2)
const rounds = Number(args.find((a) => /^\d+$/.test(a)) ?? 3)
const vars = Object.fromEntries(args.flatMap((a, i) => (args[i - 1] === '--var' ? [a.split('=', 2)] : [])))

const upstream = await startUpstream(SETTINGS.upstreamLatencyMs)
const id = benchId('hit', 0)
const path = assetPath(id)
try {
  const targets = [
    await startGateway('gateway', join(ROOT, 'wrangler.toml'), upstream.address().port, vars),
    await startBaseline('baseline', bodyOf(id), path, upstream.address().port),
  ]
  await Promise.all(targets.map(waitReady))
  for (const t of targets) for (let i = 0; i < 5; i++) await get(t.agent, t.port, path, AUTH)
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const before = new Map(tree(t.child.pid).map((p) => [p.pid, p.cpuTicks]))
      const res = await autocannon({ url: `http://127.0.0.1:${t.port}${path}`, connections: SETTINGS.connections, duration: 4, headers: AUTH })
      const n = res.requests.total
      const parts = tree(t.child.pid).map((p) => `${p.comm} ${Math.round(((p.cpuTicks - (before.get(p.pid) ?? 0)) * 1e6) / USER_HZ / n)}`)
      console.log(`${t.name.padEnd(8)} ${String(Math.round(n / 4)).padStart(5)} req/s; µs of CPU a request: ${parts.join(', ')}`)
    }
  }
} finally {
  upstream.closeAllConnections()
  upstream.close()
  await stopAll()
}
