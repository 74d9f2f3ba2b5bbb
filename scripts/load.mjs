#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
// `npm run load` (issue 6 item 4): the gateway under sustained load, in workerd under `wrangler
// dev`, driven by autocannon from this process over loopback against a loopback Sync upstream.
// Three bounded workloads, each checked answer by answer:
//
//   hits     lookups of warm ids only                      → every answer 200, no upstream call
//   mixed    warm hits, cold misses, unknown ids, malformed ids, wrong keys
//                                                           → every answer the status its kind owes
//   failing  warm ids gone stale while the upstream fails half of its calls (500, 502, 503 with
//            Retry-After, connection reset), plus a few cold ids with no stale copy
//                                                           → no 5xx where a stale copy exists;
//                                                             cold ids: 200, a precise 502/503/504, or
//                                                             the provider's own 5xx passed through
//                                                             (x-asset-edge-error, docs/errors.md)
//
// `failing` runs twice and `hits` again at the end. Memory: the isolate's V8 heap in use, read
// through wrangler dev's inspector after each gateway's LOAD_WARMUP_S (40) of hits and after every
// workload; flat means that outside its memory tier the last reading is at most 8 MiB above the
// highest before it, with the tier within its bound (workerd's RSS, printed too, counts Miniflare
// and the dev tooling and grows whatever the Worker does). Every answer outside its kind's
// statuses, every socket error and timeout, and every 5xx that is neither the gateway's
// problem+json nor the provider's own answer passed through (`x-asset-edge-error`) fails the run.
// Prints a table, writes bench/load.json, and rewrites docs/benchmarks.md between <!-- load:start -->
// and <!-- load:end -->. LOAD_SECONDS (15), LOAD_CONNECTIONS (32) and LOAD_WARMUP_S change the
// load; runs with other values than the defaults leave docs/benchmarks.md and bench/load.json alone.
// About 3 minutes; stopped and failed at 6. `npm run load -- --report` rewrites the docs/benchmarks.md
// section from bench/load.json without a run.
import autocannon from 'autocannon'
import { AUTH, assetPath, cacheDetail, get, median, pool, round, tally } from './bench/client.mjs'
import { environmentFacts, runScript, sleep, stopAll, workerdRssKiB } from './bench/processes.mjs'
import { updateReadmeSection } from './bench/report.mjs'
import { ROOT } from './bench/settings.mjs'
import { isolateHeapBytes, startGateway, waitReady } from './bench/targets.mjs'
import { benchId, counters, faults, missingId, startUpstream } from './bench/upstream.mjs'

const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback)
const LOAD = {
  seconds: num('LOAD_SECONDS', 15),
  connections: num('LOAD_CONNECTIONS', 32),
  upstreamLatencyMs: 20,
  warmIds: 200,
  failRatio: 0.5,
  warmupS: num('LOAD_WARMUP_S', 40),
  // How far the isolate's heap outside its memory tier may end above its earlier highest reading
  // (uncollected garbage included; the whole heap reads 5-35 MiB):
  flatOtherMiB: 8,
}
const DEFAULTS = LOAD.seconds === 15 && LOAD.connections === 32 && LOAD.warmupS === 40
const RUN_DEADLINE_MS = 6 * 60_000

const WARM = Array.from({ length: LOAD.warmIds }, (_, i) => benchId('load-warm', i))
const BAD_PATHS = ['/sync/v2/assets/not-a-uuid', `/sync/v2/assets/${WARM[0]}?debug=1`, '/sync/v2/assets/%2Fetc%2Fpasswd', `/sync/v2/assets/${'f'.repeat(300)}`]
const WRONG_KEY = { authorization: 'Bearer ae_not_a_key_of_this_gateway' }

/**
 * A workload: `pick(n)` names the n-th request's kind, `request(kind)` its path and headers,
 * `expected[kind]` the statuses that kind may answer. Anything else counts as an error.
 */
const WORKLOADS = {
  hits: {
    describe: `GET of ${LOAD.warmIds} warm ids in turn`,
    pick: () => 'hit',
    expected: { hit: [200] },
  },
  mixed: {
    describe: 'of every 20: 13 warm hits, 3 cold ids, 1 unknown id, 2 malformed ids, 1 wrong key',
    pick: (n) =>
      ['hit', 'hit', 'cold', 'hit', 'bad', 'hit', 'hit', 'missing', 'hit', 'cold', 'hit', 'hit', 'wrong-key', 'hit', 'bad', 'hit', 'hit', 'cold', 'hit', 'hit'][
        n % 20
      ],
    expected: { hit: [200], cold: [200], missing: [404], bad: [400], 'wrong-key': [401] },
  },
  failing: {
    describe: `warm ids, stale, upstream failing ${LOAD.failRatio * 100}% of calls; 1 in 20 a cold id`,
    pick: (n) => (n % 20 === 7 ? 'cold-failing' : 'stale-hit'),
    // The provider's 500/502/503 reach a mirror route's caller as the provider sent them (issue 14).
    expected: { 'stale-hit': [200], 'cold-failing': [200, 500, 502, 503, 504] },
  },
}

/** The path and headers of the next request of `kind`; each kind walks its own list in turn. */
const serial = {}
function request(kind) {
  const i = (serial[kind] = (serial[kind] ?? -1) + 1)
  switch (kind) {
    case 'hit':
    case 'stale-hit':
      return { path: assetPath(WARM[i % WARM.length]), headers: AUTH }
    case 'cold':
    case 'cold-failing':
      return { path: assetPath(benchId(`load-${kind}`, i)), headers: AUTH }
    case 'missing':
      return { path: assetPath(missingId(i % 50)), headers: AUTH }
    case 'bad':
      return { path: BAD_PATHS[i % BAD_PATHS.length], headers: AUTH }
    case 'wrong-key':
      return { path: assetPath(WARM[i % WARM.length]), headers: WRONG_KEY }
    default:
      throw new Error(`unknown kind ${kind}`)
  }
}

/** RSS (MiB) of the workerd process that runs `target`'s Worker. */
const rssMiB = (target) => workerdRssKiB(target.child).userKiB / 1024

/** The Worker's RSS (MiB), sampled every 500 ms while `work` runs: start, end, peak and median. */
async function withMemory(target, work) {
  const samples = [rssMiB(target)]
  const timer = setInterval(() => samples.push(rssMiB(target)), 500)
  try {
    const result = await work()
    samples.push(rssMiB(target))
    const memoryMiB = { start: samples[0], end: samples.at(-1), peak: Math.max(...samples), median: median(samples) }
    return { ...result, memoryMiB: Object.fromEntries(Object.entries(memoryMiB).map(([k, v]) => [k, round(v, 1)])) }
  } finally {
    clearInterval(timer)
  }
}

/** autocannon hands headers over as sent (`Content-Type`); HTTP names are case-insensitive. */
const lowerKeys = (headers) => Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]))

/** One bounded workload against `target`, every answer checked against what its kind owes. */
async function run(name, target, seconds = LOAD.seconds) {
  const w = WORKLOADS[name]
  const byKind = {}
  const unexpected = []
  const cacheStatus = []
  const problemJson = { five: 0, notProblem: 0 }
  let n = 0
  const callsBefore = [...counters.calls.values()].reduce((a, b) => a + b, 0)
  const failedBefore = counters.failed
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections: LOAD.connections,
    pipelining: 1,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest(req, context) {
          context.kind = w.pick(n++)
          const { path, headers } = request(context.kind)
          return { ...req, path, headers }
        },
        onResponse(status, _body, context, rawHeaders) {
          const headers = lowerKeys(rawHeaders)
          const kind = context.kind
          byKind[kind] ??= {}
          byKind[kind][status] = (byKind[kind][status] ?? 0) + 1
          if (!w.expected[kind].includes(status)) unexpected.push(`${kind} ${status}`)
          if (status >= 500) {
            problemJson.five += 1
            const passedThrough = headers['x-asset-edge-error'] !== undefined
            if (!passedThrough && !String(headers['content-type']).startsWith('application/problem+json')) problemJson.notProblem += 1
          }
          if (status === 200) cacheStatus.push(cacheDetail(headers['cache-status']))
        },
      },
    ],
  })
  await sleep(1000) // requests in flight when the clock ran out reach the upstream now, not during the next workload
  const upstreamCalls = [...counters.calls.values()].reduce((a, b) => a + b, 0) - callsBefore
  return {
    workload: name,
    describe: w.describe,
    gateway: target.name,
    seconds: result.duration,
    requests: result.requests.total,
    rps: round(result.requests.total / result.duration, 0),
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    statusesByKind: byKind,
    answeredBy: tally(cacheStatus),
    unexpected: tally(unexpected),
    unexpectedCount: unexpected.length,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    fiveXx: problemJson.five,
    fiveXxNotProblemJson: problemJson.notProblem,
    upstreamCalls,
    upstreamFailures: counters.failed - failedBefore,
  }
}

/** GETs every warm id until each answers 200 (the first ask of each is a miss that fills the tiers). */
async function warm(target) {
  await pool(WARM, 16, async (id) => {
    const res = await get(target.agent, target.port, assetPath(id), AUTH)
    if (res.status !== 200) throw new Error(`${target.name}: warming ${id} answered ${res.status}: ${res.body.slice(0, 200)}`)
  })
}

/** Whether a workload met its targets, and why not. */
function verdict(r) {
  const problems = []
  if (r.socketErrors || r.timeouts) problems.push(`${r.socketErrors} socket errors, ${r.timeouts} timeouts`)
  if (r.unexpectedCount) problems.push(`${r.unexpectedCount} unexpected answers`)
  if (r.fiveXxNotProblemJson) problems.push(`${r.fiveXxNotProblemJson} 5xx without problem+json`)
  if (r.workload === 'hits' && r.upstreamCalls) problems.push(`${r.upstreamCalls} upstream calls on hits`)
  if (r.workload === 'failing' && r.upstreamFailures === 0) problems.push('the upstream never failed: the workload proved nothing')
  return problems
}

const fmt = (n) => n.toLocaleString('en-US')
const mib = (bytes) => (bytes / (1024 * 1024)).toFixed(2)
const statuses = (r) =>
  Object.entries(r.statusesByKind)
    .map(
      ([kind, s]) =>
        `${kind}: ${Object.entries(s)
          .map(([code, c]) => `${fmt(c)}×${code}`)
          .join(' ')}`,
    )
    .join('; ')

function rows(results) {
  return results.runs.map((r) => ({
    workload: r.repeat ? `${r.workload} (again)` : r.workload,
    rps: fmt(r.rps),
    latency: `${r.latencyMs.p50} / ${r.latencyMs.p99} ms`,
    answers: statuses(r),
    cache: Object.entries(r.answeredBy)
      .map(([by, c]) => `${fmt(c)} ${by}`)
      .join(', '),
    errors: `${r.unexpectedCount + r.socketErrors + r.timeouts}`,
    upstream: r.workload === 'failing' ? `${fmt(r.upstreamCalls)} calls, ${fmt(r.upstreamFailures)} failed` : `${fmt(r.upstreamCalls)} calls`,
    heap: r.isolate ? `${mib(r.isolate.heapBytes)} MiB (tier ${mib(r.isolate.tierBytes)})` : '—',
    memory: `${r.memoryMiB.start} → ${r.memoryMiB.end} MiB (median ${r.memoryMiB.median}, peak ${r.memoryMiB.peak})`,
    met: r.problems.length ? `not met: ${r.problems.join('; ')}` : 'met',
  }))
}

const HEAD = {
  workload: 'workload',
  rps: 'req/s',
  latency: 'p50 / p99',
  answers: 'answers (kind: count×status)',
  cache: 'Cache-Status of the 200s',
  errors: 'errors',
  upstream: 'upstream',
  heap: 'isolate heap (memory tier)',
  memory: 'workerd RSS start → end',
  met: 'targets',
}

function printTable(table) {
  const keys = Object.keys(HEAD)
  const widths = keys.map((k) => Math.max(HEAD[k].length, ...table.map((r) => r[k].length)))
  const line = (r) =>
    keys
      .map((k, i) => r[k].padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  console.log(`\n${line(HEAD)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${table.map(line).join('\n')}\n`)
}

function readmeSection(results, table) {
  const e = results.environment
  const keys = Object.keys(HEAD)
  const md = (r) => `| ${keys.map((k) => r[k].replaceAll('|', '\\|')).join(' | ')} |`
  return [
    '<!-- load:start -->',
    `\`npm run load\` on ${results.finishedAt.slice(0, 10)} (${e.cpus} × ${e.cpuModel}, Node ${e.node}, ${Math.round(results.durationS)} s): ` +
      `autocannon, ${results.settings.connections} connections, ${results.settings.seconds} s per workload, against \`wrangler dev\` (workerd) with Sync on a loopback upstream ` +
      `answering in ${results.settings.upstreamLatencyMs} ms. "errors" counts every answer whose status its kind does not owe, plus socket errors and timeouts. ` +
      `The failing workload runs a second gateway whose records are fresh for 1 s with no stale-while-revalidate, so stale copies meet the failing upstream head on. ` +
      `Flat memory: ${results.flatMemory.text}. All numbers: [\`bench/load.json\`](../bench/load.json).`,
    '',
    md(HEAD),
    `| ${keys.map(() => '---').join(' | ')} |`,
    ...table.map(md),
    '<!-- load:end -->',
  ].join('\n')
}

/** `--report`: the table and docs/benchmarks.md section again from bench/load.json, without a run. */
function report() {
  const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'load.json'), 'utf8'))
  const table = rows(results)
  printTable(table)
  updateReadmeSection('load', 'Load', readmeSection(results, table))
}

async function main() {
  if (process.argv.includes('--report')) return report()
  const startedAt = Date.now()

  const upstream = await startUpstream(LOAD.upstreamLatencyMs)
  const upstreamPort = upstream.address().port
  const steady = await startGateway('gateway', join(ROOT, 'wrangler.toml'), upstreamPort)
  const failing = await startGateway('gateway-short-freshness', join(ROOT, 'wrangler.toml'), upstreamPort, {
    CACHE_FRESH_READY_S: '1',
    CACHE_STALE_WHILE_REVALIDATE_S: '0',
    MEMORY_TTL_S: '1',
    CACHE_EDGE_MAX_S: '1',
  })
  console.log(
    `servers: upstream :${upstreamPort} (${LOAD.upstreamLatencyMs} ms); wrangler dev ${steady.name} :${steady.port}, ${failing.name} :${failing.port}`,
  )
  await Promise.all([steady, failing].map(waitReady))
  await Promise.all([warm(steady), warm(failing)])
  // workerd's RSS under wrangler dev counts Miniflare's local KV and Cache API and the dev tooling,
  // and grows for tens of thousands of requests whatever the Worker does (docs/benchmarks.md, "Load"). What the
  // gateway itself keeps is its isolate's heap, read through the inspector, and its memory tier.
  const isolate = async (target) => {
    const heapBytes = await isolateHeapBytes(target)
    const tier = JSON.parse((await get(target.agent, target.port, '/admin/cache', AUTH)).body).memory
    return { heapBytes, tierBytes: tier?.bytes ?? 0, tierEntries: tier?.entries ?? 0, tierMaxBytes: tier?.maxBytes ?? 0 }
  }
  const rssAtStart = { [steady.name]: round(rssMiB(steady), 1), [failing.name]: round(rssMiB(failing), 1) }
  for (const target of [steady, failing]) {
    console.log(`warm-up: ${LOAD.warmupS} s of hits on ${target.name}`)
    await run('hits', target, LOAD.warmupS)
  }
  const warmState = { [steady.name]: await isolate(steady), [failing.name]: await isolate(failing) }
  await sleep(1500) // every record of the short-freshness gateway is stale from here on

  const runs = []
  const step = async (name, target, extra = {}) => {
    console.log(`${name}${extra.repeat ? ' (again)' : ''}: ${WORKLOADS[name].describe}, ${LOAD.seconds} s on ${target.name}`)
    const r = { ...(await withMemory(target, () => run(name, target))), ...extra }
    r.isolate = await isolate(target)
    r.problems = verdict(r)
    console.log(
      `  ${fmt(r.rps)} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${r.unexpectedCount} unexpected, isolate heap ${mib(r.isolate.heapBytes)} MiB, RSS median ${r.memoryMiB.median} MiB`,
    )
    runs.push(r)
    return r
  }
  await step('hits', steady)
  await step('mixed', steady)
  faults.failRatio = LOAD.failRatio
  await step('failing', failing)
  const lastFailing = await step('failing', failing, { repeat: true })
  faults.failRatio = 0
  const lastHits = await step('hits', steady, { repeat: true })

  // Flat: the isolate's heap outside its memory tier (whose content MEMORY_CACHE_MAX_BYTES bounds)
  // ends no more than 8 MiB above the highest it read earlier in the run (warm-up included). The
  // readings include uncollected garbage, so one reading is compared with the worst before it; a
  // leak grows from reading to reading and shows.
  const flatness = (target, last) => {
    const outside = (x) => x.heapBytes - x.tierBytes
    const earlier = [warmState[target.name], ...runs.filter((r) => r.gateway === target.name && r !== last).map((r) => r.isolate)]
    const highestEarlier = Math.max(...earlier.map(outside))
    const aboveBytes = outside(last.isolate) - highestEarlier
    const bounded = last.isolate.tierBytes <= last.isolate.tierMaxBytes
    const met = aboveBytes <= LOAD.flatOtherMiB * 1024 * 1024 && bounded
    if (!met)
      last.problems.push(`${target.name}: isolate heap ${mib(aboveBytes)} MiB above its earlier highest${bounded ? '' : '; memory tier over its bound'}`)
    return {
      gateway: target.name,
      rssAtStartMiB: rssAtStart[target.name],
      rssAtEndMiB: last.memoryMiB.end,
      readingsMiB: [...earlier, last.isolate].map((x) => Number(mib(x.heapBytes))),
      warm: warmState[target.name],
      end: last.isolate,
      highestEarlierOutsideBytes: highestEarlier,
      aboveBytes,
      limitMiB: LOAD.flatOtherMiB,
      met,
    }
  }
  const gateways = [flatness(steady, lastHits), flatness(failing, lastFailing)]
  const flatMemory = {
    gateways,
    met: gateways.every((g) => g.met),
    text: gateways
      .map(
        (g) =>
          `${g.gateway}: isolate heap ${g.readingsMiB.join(' → ')} MiB (after the warm-up and each workload), memory tier ${mib(g.warm.tierBytes)} → ` +
          `${mib(g.end.tierBytes)} MiB (bound ${mib(g.end.tierMaxBytes)}); outside the tier the last reading is ${mib(g.aboveBytes)} MiB above the highest before it ` +
          `(target ≤ ${LOAD.flatOtherMiB} MiB: ${g.met ? 'met' : 'not met'}); workerd RSS ${g.rssAtStartMiB} → ${g.rssAtEndMiB} MiB`,
      )
      .join('. '),
  }

  upstream.closeAllConnections()
  upstream.close()
  steady.agent.destroy()
  failing.agent.destroy()
  await stopAll()

  const results = {
    schema: 1,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    durationS: round((Date.now() - startedAt) / 1000, 1),
    environment: environmentFacts(),
    settings: LOAD,
    runs,
    upstreamFailuresBy: counters.failedBy,
    flatMemory,
  }
  const table = rows(results)
  printTable(table)
  console.log(flatMemory.text)
  if (DEFAULTS) {
    mkdirSync(join(ROOT, 'bench'), { recursive: true })
    writeFileSync(join(ROOT, 'bench', 'load.json'), `${JSON.stringify(results, null, 2)}\n`)
    updateReadmeSection('load', 'Load', readmeSection(results, table))
    console.log('written: bench/load.json, docs/benchmarks.md (Load)')
  } else console.log('non-default load: docs/benchmarks.md and bench/load.json left alone')
  const missed = runs.filter((r) => r.problems.length)
  if (missed.length) throw new Error(`targets not met: ${missed.map((r) => `${r.workload}: ${r.problems.join('; ')}`).join(' | ')}`)
}

runScript('load', main, RUN_DEADLINE_MS)
