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
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { AUTH, assetPath, get } from './client.mjs'
import { stopAll } from './processes.mjs'
import { ROOT, SETTINGS } from './settings.mjs'
import { startBaseline, startGateway, waitReady } from './targets.mjs'
import { benchId, bodyOf, startUpstream } from './upstream.mjs'

const USER_HZ = 100

/** Every process: pid, parent, command name and CPU ticks (user + system). */
function processes() {
  const out = []
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      const fields = stat.slice(close + 2).split(' ')
      out.push({ pid: Number(pid), ppid: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {
      // gone since the listing
    }
  }
  return out
}

/** `root` and everything below it. */
function tree(root) {
  const all = processes()
  const found = all.filter((p) => p.pid === root)
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i].pid))
  return found
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
      const before = new Map(tree(t.child.pid).map((p) => [p.pid, p.ticks]))
      const res = await autocannon({ url: `http://127.0.0.1:${t.port}${path}`, connections: SETTINGS.connections, duration: 4, headers: AUTH })
      const n = res.requests.total
      const parts = tree(t.child.pid).map((p) => `${p.comm} ${Math.round(((p.ticks - (before.get(p.pid) ?? 0)) * 1e6) / USER_HZ / n)}`)
      console.log(`${t.name.padEnd(8)} ${String(Math.round(n / 4)).padStart(5)} req/s; µs of CPU a request: ${parts.join(', ')}`)
    }
  }
} finally {
  upstream.closeAllConnections()
  upstream.close()
  await stopAll()
}
