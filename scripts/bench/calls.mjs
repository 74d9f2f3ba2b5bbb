// Upstream calls the gateway makes: Zipf-distributed lookups (one call per distinct id within a
// freshness window), and many concurrent cold lookups of one id (one call in all).
import http from 'node:http'
import { AUTH, assetPath, cacheDetail, get, pool, round, tally } from './client.mjs'
import { sleep } from './processes.mjs'
import { SETTINGS } from './settings.mjs'
import { benchId, bodyOf, counters } from './upstream.mjs'

/** Zipf-like draws: rank k (0-based) with probability ∝ 1 / (k+1)^s, from a seeded PRNG (mulberry32). */
export function zipfRanks({ lookups, ids, exponent, seed }) {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const cdf = []
  let sum = 0
  for (let k = 1; k <= ids; k++) cdf.push((sum += 1 / k ** exponent))
  return Array.from({ length: lookups }, () => {
    const u = random() * sum
    let lo = 0
    let hi = ids - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo
  })
}

export async function zipfSection(gateway, label, freshWindowS) {
  const ranks = zipfRanks(SETTINGS.zipf)
  const ids = Array.from({ length: SETTINGS.zipf.ids }, (_, i) => benchId(`zipf-${label}`, i))
  const statuses = []
  const start = performance.now()
  await pool(ranks, SETTINGS.zipf.concurrency, async (rank) => {
    statuses.push((await get(gateway.agent, gateway.port, assetPath(ids[rank]), AUTH)).status)
  })
  const seconds = (performance.now() - start) / 1000
  await sleep(200) // let calls still in flight land in the counters
  const { total, max } = counters.callsOf(ids)
  return {
    lookups: ranks.length,
    ids: SETTINGS.zipf.ids,
    exponent: SETTINGS.zipf.exponent,
    concurrency: SETTINGS.zipf.concurrency,
    distinctRequested: new Set(ranks).size,
    upstreamCalls: total,
    maxCallsForOneId: max,
    seconds: round(seconds, 1),
    freshWindowS,
    withinOneWindow: seconds < freshWindowS,
    statuses: tally(statuses),
  }
}

/**
 * `coldRounds` rounds of `coldConcurrent` concurrent lookups of one never-seen id each: every round
 * must make one upstream call and give every client the upstream's exact body (several rounds,
 * because a fault of coalescing, such as a request left waiting on another's promise, may be rare).
 */
export async function coalesceSection(gateway, label) {
  const n = SETTINGS.coldConcurrent
  const rounds = []
  for (let i = 0; i < SETTINGS.coldRounds; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: n })
    // Open the n connections first, so the lookups leave together rather than behind n handshakes.
    await Promise.all(Array.from({ length: n }, () => get(agent, gateway.port, '/healthz')))
    const id = benchId(`coalesce-${label}`, i)
    const answers = await Promise.all(Array.from({ length: n }, () => get(agent, gateway.port, assetPath(id), AUTH)))
    agent.destroy()
    await sleep(200)
    const wrong = answers.filter((a) => a.status !== 200 || a.body !== bodyOf(id))
    rounds.push({
      upstreamCalls: counters.calls.get(id) ?? 0,
      wrongAnswers: wrong.length,
      answeredBy: tally(answers.map((a) => `${a.status} ${cacheDetail(a.headers['cache-status'])}`)),
      // The first wrong answer whole, so a failed run says what went wrong.
      firstWrong: wrong.slice(0, 1).map((a) => ({ status: a.status, headers: a.headers, body: a.body.slice(0, 2000) }))[0],
      slowestMs: round(Math.max(...answers.map((a) => a.ms)), 1),
    })
  }
  return { concurrent: n, perRound: rounds }
}
