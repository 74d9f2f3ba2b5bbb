#!/usr/bin/env node
import { join } from 'node:path'
// The RSS of one Worker's workerd process under steady hits, every 3 s: the reference behind the
// load test's warm-up (docs/benchmarks.md, "Load").
//
//   node scripts/bench/rss-curve.mjs baseline [seconds]   the bare Hono Worker (bench/baseline)
//   node scripts/bench/rss-curve.mjs gateway [seconds]    the gateway, its Sync on a loopback upstream
import autocannon from 'autocannon'
import { AUTH, assetPath, get } from './client.mjs'
import { installCleanup, stopAll, workerdRssKiB } from './processes.mjs'
import { ROOT } from './settings.mjs'
import { startBaseline, startGateway, waitReady } from './targets.mjs'
import { benchId, bodyOf, startUpstream } from './upstream.mjs'

installCleanup()
const [which = 'baseline', seconds = '90'] = process.argv.slice(2)
const upstream = await startUpstream(20)
const id = benchId('hit', 0)
const target =
  which === 'baseline'
    ? await startBaseline('baseline', bodyOf(id), assetPath(id))
    : await startGateway('gateway', join(ROOT, 'wrangler.toml'), upstream.address().port)
await waitReady(target)
await get(target.agent, target.port, assetPath(id), AUTH)
const rssMiB = () => Math.round(workerdRssKiB(target.child).userKiB / 1024)
const series = [rssMiB()]
const timer = setInterval(() => series.push(rssMiB()), 3000)
const result = await autocannon({ url: `http://127.0.0.1:${target.port}${assetPath(id)}`, connections: 32, duration: Number(seconds), headers: AUTH })
clearInterval(timer)
series.push(rssMiB())
console.log(`${which}: ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx; workerd RSS (MiB) every 3 s: ${series.join(' ')}`)
upstream.close()
target.agent.destroy()
await stopAll()
process.exit(0)
