// Cache-hit throughput: the gateway's hits per second ÷ a bare Hono Worker's requests per second
// for the same body, autocannon against each in alternated rounds of the same run.
import autocannon from 'autocannon'
import { AUTH, assetPath, cacheDetail, get, median, round, tally } from './client.mjs'
import { cpuSnapshot, foreignCpuShare, sleep, treeCpuMs } from './processes.mjs'
import { SETTINGS } from './settings.mjs'
import { bodyOf, counters } from './upstream.mjs'

async function cannon(target, path, seconds, extra = {}) {
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}${path}`,
    connections: SETTINGS.connections,
    pipelining: 1,
    duration: seconds,
    headers: AUTH,
    ...extra,
  })
  return {
    rps: result.requests.total / result.duration,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
  }
}

/** Asks until `Cache-Status` names `detail` (the first ask is a miss that fills the tiers). */
async function prime(target, path, detail) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const res = await get(target.agent, target.port, path, AUTH)
    if (res.status !== 200) throw new Error(`${target.name}: priming ${path} answered ${res.status}: ${res.body.slice(0, 200)}`)
    if (cacheDetail(res.headers['cache-status']) === detail) return res
    if (Date.now() > deadline) throw new Error(`${target.name}: ${path} never became a ${detail} hit (last: ${res.headers['cache-status']})`)
    await sleep(50)
  }
}

/** What answered during one short untimed round (tallying headers costs the client time). */
async function hitMix(target, path) {
  const seen = []
  await autocannon({
    url: `http://127.0.0.1:${target.port}${path}`,
    connections: SETTINGS.connections,
    duration: 1,
    headers: AUTH,
    requests: [{ method: 'GET', onResponse: (status, _body, _ctx, headers) => seen.push(`${status} ${cacheDetail(headers?.['cache-status'])}`) }],
  })
  return tally(seen)
}

/**
 * `baseline` answers `/sync/v2/assets/{id}` bare, `/with-headers/…` bare with a memory hit's header
 * names, and `/cache-floor/…` from `caches.default`, behind
 * the gateway's static-assets routing; `plain` is the same Worker without that routing;
 * `peer` answers it from `@unkey/cache` (bench/peer-unkey); `memory` is the gateway as configured,
 * `edge` the gateway with MEMORY_CACHE_MAX_ENTRIES=0.
 */
export async function hitSection({ baseline, plain, peer, memory, edge }, hitId) {
  const path = assetPath(hitId)
  const targets = [
    { key: 'baseline', target: baseline, path },
    { key: 'headers', target: baseline, path: `/with-headers${path}` },
    { key: 'plain', target: plain, path },
    { key: 'peer', target: peer, path },
    { key: 'floor', target: baseline, path: `/cache-floor${path}`, detail: 'edge' },
    { key: 'memory', target: memory, path, detail: 'memory' },
    { key: 'edge', target: edge, path, detail: 'edge' },
  ]
  // Every target must answer the same bytes, or the ratios compare different work.
  for (const t of targets) {
    const res = t.detail ? await prime(t.target, t.path, t.detail) : await get(t.target.agent, t.target.port, t.path, AUTH)
    if (res.body !== bodyOf(hitId)) throw new Error(`${t.key} answers a different body than the upstream serves`)
    t.headerNames = Object.keys(res.headers)
      .filter((name) => !['date', 'connection', 'keep-alive'].includes(name))
      .sort()
  }
  // The with-headers yardstick must send what a memory hit sends, or its rows measure other headers.
  const [withHeaders, memoryHit] = ['headers', 'memory'].map((key) => targets.find((t) => t.key === key).headerNames.join(', '))
  if (withHeaders !== memoryHit) throw new Error(`bench/baseline's /with-headers route sends ${withHeaders}; a memory hit sends ${memoryHit}`)

  console.log(`  warm-up ${SETTINGS.warmupS} s each`)
  for (const t of targets) await cannon(t.target, t.path, SETTINGS.warmupS)
  const callsBefore = counters.calls.get(hitId) ?? 0
  const rounds = Object.fromEntries(targets.map((t) => [t.key, []]))
  for (let r = 0; r < SETTINGS.rounds; r++) {
    // Rotate the order each round, so no target always runs first, last, or after the same one.
    for (const t of targets.map((_, i) => targets[(i + r) % targets.length])) {
      const before = cpuSnapshot()
      const cpuBefore = treeCpuMs(t.target.child)
      const res = await cannon(t.target, t.path, SETTINGS.roundS)
      const cpuMsPerRequest = (treeCpuMs(t.target.child) - cpuBefore) / res.requests
      const foreignCpu = round(foreignCpuShare(before, cpuSnapshot()), 3)
      if (res.non2xx || res.errors || res.timeouts)
        throw new Error(`${t.key}: ${res.non2xx} non-2xx, ${res.errors} errors, ${res.timeouts} timeouts in one round`)
      const after = t.detail ? cacheDetail((await get(t.target.agent, t.target.port, t.path, AUTH)).headers['cache-status']) : undefined
      rounds[t.key].push({
        rps: round(res.rps, 1),
        cpuMsPerRequest: round(cpuMsPerRequest, 4),
        latencyMs: res.latencyMs,
        foreignCpu,
        answeredByAfterRound: after,
      })
    }
    console.log(
      `  round ${r + 1}/${SETTINGS.rounds}: ${targets.map((t) => `${t.key} ${rounds[t.key][r].rps.toFixed(0)} req/s ${(rounds[t.key][r].cpuMsPerRequest * 1000).toFixed(0)} µs CPU`).join(', ')}`,
    )
  }
  const upstreamCallsDuringRounds = (counters.calls.get(hitId) ?? 0) - callsBefore

  const summary = (key) => ({
    medianRps: round(median(rounds[key].map((x) => x.rps)), 1),
    medianCpuMsPerRequest: round(median(rounds[key].map((x) => x.cpuMsPerRequest)), 4),
    rounds: rounds[key],
  })
  // Each round's ratio pairs it with the reference's round of the same rotation, minutes apart at most.
  const ratios = (key, ref) => {
    const paired = rounds[key].map((x, i) => x.rps / rounds[ref][i].rps)
    // The same comparison in CPU time: the reference's CPU per request ÷ this target's, i.e. the
    // share of the reference's throughput this target's cost allows on a CPU-bound machine.
    const cpuPaired = rounds[key].map((x, i) => rounds[ref][i].cpuMsPerRequest / x.cpuMsPerRequest)
    return {
      ratio: round(median(paired), 3),
      cpuRatio: round(median(cpuPaired), 3),
      cpuRatioPerRound: cpuPaired.map((x) => round(x, 3)),
      ratioPerRound: paired.map((x) => round(x, 3)),
      ratioOfMedians: round(median(rounds[key].map((x) => x.rps)) / median(rounds[ref].map((x) => x.rps)), 3),
    }
  }
  const versusBaseline = async (key) => {
    const t = targets.find((x) => x.key === key)
    return { ...ratios(key, 'baseline'), ...summary(key), answeredBy: await hitMix(t.target, t.path) }
  }
  return {
    hitId,
    bodyBytes: Buffer.byteLength(bodyOf(hitId)),
    baseline: summary('baseline'),
    memory: await versusBaseline('memory'),
    // The gateway's memory hits ÷ the @unkey/cache peer's hits, round by round.
    memoryVsPeer: ratios('memory', 'peer'),
    // Against the bare Worker deployed without static assets (`plain`): what the assets routing in
    // front costs under wrangler dev, on the gateway and on the bare Worker alike.
    plain: summary('plain'),
    memoryVsPlain: ratios('memory', 'plain'),
    baselineVsPlain: ratios('baseline', 'plain'),
    // The bare Worker sending a memory hit's header names: what the headers cost by themselves, and
    // the gateway's memory hits against it (its own work beyond sending those headers).
    headers: await versusBaseline('headers'),
    memoryVsHeaders: ratios('memory', 'headers'),
    headerCount: targets.find((t) => t.key === 'memory').headerNames.length,
    peer: await versusBaseline('peer'),
    edge: await versusBaseline('edge'),
    cacheApiFloor: await versusBaseline('floor'),
    upstreamCallsDuringRounds,
    foreignCpuMedian: round(
      median(
        Object.values(rounds)
          .flat()
          .map((x) => x.foreignCpu),
      ),
      3,
    ),
  }
}
