#!/usr/bin/env node
// A CPU profile of the gateway's memory-hit path under load, through `wrangler dev`'s inspector
// (DevTools protocol `Profiler.start`/`Profiler.stop`), summarised as self time per function.
//
//   node_modules/.bin/node scripts/bench/profile.mjs [seconds=8] [--gateway-config <wrangler.toml>] [--out file.cpuprofile]
//
// Starts the loopback upstream and one gateway, primes a memory hit, then profiles autocannon
// load for `seconds`. The top of the list is where a hit spends its CPU; the full profile (--out)
// opens in Chrome DevTools. For finding costs, not for numbers: sampling stretches every function.
import { writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import autocannon from 'autocannon'
import { AUTH, assetPath, get } from './client.mjs'
import { runScript, stopAll } from './processes.mjs'
import { ROOT, SETTINGS } from './settings.mjs'
import { startGateway, waitReady } from './targets.mjs'
import { benchId, startUpstream } from './upstream.mjs'

/** A DevTools session on `target`'s inspector: `send(method, params)` resolves with the result. */
export async function inspect(target) {
  const [{ webSocketDebuggerUrl }] = await (await fetch(`http://127.0.0.1:${target.inspectorPort}/json`)).json()
  const ws = new WebSocket(webSocketDebuggerUrl, { headers: { origin: 'https://devtools.devprod.cloudflare.dev' } })
  await new Promise((ok, fail) => {
    ws.addEventListener('open', ok)
    ws.addEventListener('error', () => fail(new Error(`${target.name}: the inspector refused the connection`)))
  })
  let id = 0
  const send = (method, params = {}) =>
    new Promise((ok, fail) => {
      const mine = ++id
      const timer = setTimeout(() => fail(new Error(`${target.name}: no answer to ${method}`)), 30_000)
      ws.addEventListener('message', function onMessage(event) {
        const message = JSON.parse(String(event.data))
        if (message.id !== mine) return
        ws.removeEventListener('message', onMessage)
        clearTimeout(timer)
        message.error ? fail(new Error(`${method}: ${message.error.message}`)) : ok(message.result)
      })
      ws.send(JSON.stringify({ id: mine, method, params }))
    })
  return { send, close: () => ws.close() }
}

/** Self time per function (name and place), highest first, as shares of all samples. */
export function selfTimes(profile) {
  const counts = new Map()
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1)
  const byFn = new Map()
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame
    const name = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`
    byFn.set(name, (byFn.get(name) ?? 0) + (counts.get(node.id) ?? 0))
  }
  const total = profile.samples.length
  return [...byFn.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => ({ name, share: n / total }))
}

async function main() {
  const args = process.argv.slice(2)
  const flag = (name) => {
    const at = args.indexOf(name)
    return at < 0 ? undefined : args.splice(at, 2)[1]
  }
  const config = resolve(flag('--gateway-config') ?? join(ROOT, 'wrangler.toml'))
  const out = flag('--out')
  const seconds = Number(args[0] ?? 8)
  const upstream = await startUpstream(SETTINGS.upstreamLatencyMs)
  // Not minified, so the profile names the gateway's own functions.
  const gateway = await startGateway('gateway', config, upstream.address().port, {}, ['--minify=false'])
  await waitReady(gateway)
  const path = assetPath(benchId('hit', 0))
  for (let i = 0; i < 3; i++) await get(gateway.agent, gateway.port, path, AUTH)
  const url = `http://127.0.0.1:${gateway.port}${path}`
  await autocannon({ url, connections: SETTINGS.connections, duration: 2, headers: AUTH }) // warm-up: JIT, caches
  const session = await inspect(gateway)
  await session.send('Profiler.enable')
  await session.send('Profiler.setSamplingInterval', { interval: 100 })
  await session.send('Profiler.start')
  const load = await autocannon({ url, connections: SETTINGS.connections, duration: seconds, headers: AUTH })
  const { profile } = await session.send('Profiler.stop')
  session.close()
  if (out) writeFileSync(out, JSON.stringify(profile))
  console.log(`${load.requests.total} requests (${load.non2xx} non-2xx) in ${seconds} s; ${profile.samples.length} samples`)
  for (const { name, share } of selfTimes(profile).slice(0, 40)) console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`)
  upstream.closeAllConnections()
  upstream.close()
  gateway.agent.destroy()
  await stopAll()
}

if (import.meta.url === `file://${process.argv[1]}`) runScript('profile', main, 5 * 60_000)
