#!/usr/bin/env node
// `npm run bench`: the numbers of issue 8 item 10, measured locally in workerd (wrangler dev)
// against a loopback upstream that speaks Sync's `GET /v2/assets/{id}` with a set latency.
// Writes bench/results.json, prints a table, and rewrites the "Benchmark" section of docs/benchmarks.md
// (between <!-- bench:start --> and <!-- bench:end -->; nothing else in docs/benchmarks.md).
//
//   npm run bench                          everything, about 7 minutes (stopped and failed at 9)
//   npm run bench -- --only hit,bundle     some sections: hit, miss, zipf, coalesce, memory, events, bundle, isolates
//   npm run bench -- --gateway-config <wrangler.toml>   another build of the gateway (experiments)
//   npm run bench -- --report              the table and docs/benchmarks.md section again from bench/results.json
//
// Runs with --only or --gateway-config write bench/results/<time>.tmp.json and leave docs/benchmarks.md
// alone. BENCH_ROUNDS, BENCH_ROUND_S, BENCH_CONNECTIONS, BENCH_UPSTREAM_MS change the load shape;
// BENCH_KEEP_TMP=1 keeps the wrangler logs and state. Everything listens on 127.0.0.1 and
// nothing calls out: wrangler's telemetry and its Request.cf download are off.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { coalesceSection, zipfSection } from './bench/calls.mjs'
import { eventsSection, startEvents } from './bench/events.mjs'
import { hitSection } from './bench/hit.mjs'
import { isolatesSection } from './bench/isolates.mjs'
import { memorySection } from './bench/memory.mjs'
import { missSection } from './bench/miss.mjs'
import { childEnv, environmentFacts, runScript, stopAll, tmpDir } from './bench/processes.mjs'
import { printTable, readmeSection, targetRows, updateReadme } from './bench/report.mjs'
import { ROOT, RUN_DEADLINE_MS, SETTINGS, TARGETS, WRANGLER } from './bench/settings.mjs'
import { checkSameRouting, startBaseline, startGateway, startPeer, waitReady } from './bench/targets.mjs'
import { benchId, bodyOf, startUpstream } from './bench/upstream.mjs'

const SECTIONS = ['hit', 'miss', 'zipf', 'coalesce', 'memory', 'events', 'bundle', 'isolates']

function parseArgs(argv) {
  const value = (name) => {
    const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`))
    if (at < 0) return undefined
    return argv[at].includes('=') ? argv[at].slice(name.length + 1) : argv[at + 1]
  }
  const only = value('--only')
    ?.split(',')
    .map((s) => s.trim())
  for (const s of only ?? []) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}"; sections: ${SECTIONS.join(', ')}`)
  const defaultConfig = join(ROOT, 'wrangler.toml')
  const gatewayConfig = resolve(value('--gateway-config') ?? defaultConfig)
  return { want: (s) => !only || only.includes(s), gatewayConfig, partial: Boolean(only) || gatewayConfig !== defaultConfig }
}

/** A [vars] value of the gateway's wrangler.toml. */
function tomlVar(config, name) {
  return new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, 'm').exec(readFileSync(config, 'utf8'))?.[1]
}

/** `wrangler deploy --dry-run`: the upload size wrangler reports, raw and gzipped. */
function bundleSection(gatewayConfig) {
  const res = spawnSync(WRANGLER, ['deploy', '--dry-run', '--outdir', join(tmpDir(), 'bundle'), '--config', gatewayConfig], {
    cwd: ROOT,
    env: childEnv,
    encoding: 'utf8',
    timeout: 90_000,
  })
  const text = `${res.stdout ?? ''}${res.stderr ?? ''}`
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(text)
  if (res.status !== 0 || !m) throw new Error(`wrangler deploy --dry-run failed (status ${res.status}):\n${text.slice(-2000)}`)
  return { totalKiB: Number(m[1]), gzipKiB: Number(m[2]), targetKiB: TARGETS.bundleGzipKiB }
}

async function measure({ want, gatewayConfig }, results) {
  const upstream = await startUpstream(SETTINGS.upstreamLatencyMs)
  const upstreamPort = upstream.address().port
  const hitId = benchId('hit', 0)
  const { maxBytes, maxEntries, ttlS } = SETTINGS.memoryBound
  const t = {}
  if (['hit', 'miss', 'zipf', 'coalesce'].some(want)) t.memory = await startGateway('gateway', gatewayConfig, upstreamPort)
  if (['hit', 'zipf', 'coalesce'].some(want)) t.edge = await startGateway('gateway-memory-off', gatewayConfig, upstreamPort, { MEMORY_CACHE_MAX_ENTRIES: '0' })
  if (['hit', 'miss'].some(want)) t.baseline = await startBaseline('baseline', bodyOf(hitId), `/sync/v2/assets/${hitId}`, upstreamPort)
  if (want('hit')) {
    checkSameRouting(gatewayConfig)
    t.peer = await startPeer('peer-unkey', upstreamPort, `/sync/v2/assets/${hitId}`)
    t.plain = await startBaseline('baseline-plain', bodyOf(hitId), `/sync/v2/assets/${hitId}`, upstreamPort, 'wrangler.plain.toml')
  }
  console.log(
    `servers: upstream :${upstreamPort} (${SETTINGS.upstreamLatencyMs} ms); wrangler dev ${Object.values(t)
      .map((x) => `${x.name} :${x.port}`)
      .join(', ')}`,
  )
  await Promise.all(Object.values(t).map(waitReady))

  if (want('hit')) {
    console.log(`hit: ${SETTINGS.rounds} alternated rounds of ${SETTINGS.roundS} s, ${SETTINGS.connections} connections`)
    results.hit = await hitSection(t, hitId)
    const h = results.hit
    console.log(
      `  memory ${h.memory.ratio}, peer ${h.peer.ratio}, Cache API ${h.edge.ratio} (floor ${h.cacheApiFloor.ratio}) of bare Hono; memory ${h.memoryVsPeer.ratio} of the peer; memory ${h.memoryVsPlain.ratio} of bare Hono without the assets routing; bare Hono with a hit's headers ${h.headers.ratio} of itself, memory ${h.memoryVsHeaders.ratio} of it`,
    )
  }
  if (want('miss')) {
    console.log(`miss: ${SETTINGS.miss.samples} sequential cold lookups`)
    results.miss = await missSection(t.memory, upstreamPort, t.baseline)
    console.log(`  added p50 ${results.miss.addedMs.p50} ms, p99 ${results.miss.addedMs.p99} ms`)
  }
  if (want('zipf')) {
    const freshWindowS = Number(tomlVar(gatewayConfig, 'CACHE_FRESH_READY_S') ?? 300)
    results.zipf = {}
    for (const key of ['memory', 'edge']) {
      console.log(`zipf (${t[key].name}): ${SETTINGS.zipf.lookups} lookups over ${SETTINGS.zipf.ids} ids`)
      const z = (results.zipf[key] = await zipfSection(t[key], key, freshWindowS))
      console.log(`  ${z.upstreamCalls} upstream calls for ${z.distinctRequested} distinct ids in ${z.seconds} s`)
    }
  }
  if (want('coalesce')) {
    results.coalesce = {}
    for (const key of ['memory', 'edge']) {
      console.log(`coalesce (${t[key].name}): ${SETTINGS.coldRounds} rounds of ${SETTINGS.coldConcurrent} concurrent cold lookups of one id`)
      results.coalesce[key] = await coalesceSection(t[key], key)
      console.log(`  upstream calls per round: ${results.coalesce[key].perRound.map((r) => r.upstreamCalls).join(', ')}`)
    }
  }
  if (want('memory')) {
    // Started only now: an idle wrangler dev still costs CPU, and the hit rounds run with no
    // process but their own targets.
    const vars = { MEMORY_CACHE_MAX_BYTES: String(maxBytes), MEMORY_CACHE_MAX_ENTRIES: String(maxEntries), MEMORY_TTL_S: String(ttlS) }
    t.bounded = await startGateway('gateway-4mib', gatewayConfig, upstreamPort, vars)
    // As fresh as `bounded`, so the two RSS growths compare like with like.
    t.control = await startGateway('gateway-memory-off-control', gatewayConfig, upstreamPort, { MEMORY_CACHE_MAX_ENTRIES: '0' })
    await Promise.all([t.bounded, t.control].map(waitReady))
    console.log(`memory: more distinct ids than fit in ${maxBytes} bytes`)
    results.memory = await memorySection(t.bounded, t.control)
    console.log(`  ${results.memory.after.bytes} of ${results.memory.after.maxBytes} bytes in ${results.memory.after.entries} entries`)
  }
  if (want('events')) {
    // Last, for the same reason: its queue consumer would run beside the other sections.
    const e = await startEvents(gatewayConfig, upstreamPort)
    t.events = e.gateway
    await waitReady(t.events)
    const s = SETTINGS.events
    console.log(
      `events: Frame.io webhooks to a subscriber, ${s.steady} at ${s.steadyRps}/s then ${s.burst} at once (wrangler dev ${t.events.name} :${t.events.port})`,
    )
    const r = (results.events = await eventsSection(e))
    console.log(
      `  ${r.delivered} of ${r.sent} delivered; steady p50 ${r.steady.latencyMs.p50} ms, p99 ${r.steady.latencyMs.p99} ms; burst ${r.burst.deliveriesPerS}/s`,
    )
  }
  upstream.closeAllConnections()
  upstream.close()
  for (const x of Object.values(t)) x.agent.destroy()
  await stopAll()
}

/** `--report`: the table and docs/benchmarks.md section again from bench/results.json, without a run. */
function report() {
  const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8'))
  const rows = targetRows(results)
  printTable(rows)
  updateReadme(readmeSection(results, rows))
}

async function main() {
  if (process.argv.includes('--report')) return report()
  const options = parseArgs(process.argv.slice(2))
  const startedAt = Date.now()
  const results = {
    schema: 1,
    startedAt: new Date(startedAt).toISOString(),
    gatewayConfig: relative(ROOT, options.gatewayConfig),
    environment: environmentFacts(),
    settings: SETTINGS,
    targets: TARGETS,
  }
  if (options.want('bundle')) {
    console.log('bundle: wrangler deploy --dry-run')
    results.bundle = bundleSection(options.gatewayConfig)
    console.log(`  ${results.bundle.gzipKiB} KiB gzipped`)
  }
  // Isolates first: run after the wrangler dev sections, its Miniflare cluster's answers came back
  // with bodies already consumed (undici's "Body has already been read"); run first, or alone, it passes.
  if (options.want('isolates')) {
    const s = SETTINGS.isolates
    console.log(`isolates: ${s.isolates} gateway isolates in Miniflare, one provider gate`)
    results.isolates = await isolatesSection()
    const r = results.isolates
    console.log(
      `  ${r.cold.upstreamCalls} call(s) for ${s.cold} cold lookups; busiest second ${r.burst.busiestSecond}; ${r.token.tokenRequests} token request(s)`,
    )
  }
  if (SECTIONS.filter((s) => s !== 'bundle' && s !== 'isolates').some(options.want)) await measure(options, results)

  results.finishedAt = new Date().toISOString()
  results.durationS = Number(((Date.now() - startedAt) / 1000).toFixed(1))
  const rows = targetRows(results)
  results.verdicts = rows
  const out = options.partial ? join(ROOT, 'bench', 'results', `${results.finishedAt.replace(/[:.]/g, '-')}.tmp.json`) : join(ROOT, 'bench', 'results.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
  printTable(rows)
  if (options.partial) console.log('partial run: docs/benchmarks.md left alone')
  else updateReadme(readmeSection(results, rows))
  console.log(`results: ${relative(ROOT, out)} (${results.durationS} s)`)
}

runScript('bench', main, RUN_DEADLINE_MS)
