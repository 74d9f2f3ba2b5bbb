// Latency the gateway adds on a miss: sequential lookups of never-seen ids, each one's client-side
// time minus the time the upstream itself took to answer that very call; and the same for a bare
// proxy Worker (bench/baseline `/proxy/…`: fetch the upstream, return its answer), alternated with
// the gateway's lookups, so the difference is what the gateway's miss costs beyond one Worker hop.
import http from 'node:http'
import { AUTH, assetPath, get, percentile, round, serverTiming, tally } from './client.mjs'
import { SETTINGS, UPSTREAM_KEY } from './settings.mjs'
import { benchId, counters } from './upstream.mjs'

const p50p99 = (values) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) })

/** `baseline`, when running, gives the same sequential latency for a bare Hono Worker and its bare proxy. */
export async function missSection(gateway, upstreamPort, baseline) {
  const { warmup, samples, direct, hits } = SETTINGS.miss
  // The upstream as a client sees it with no gateway in between, for context.
  const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const directMs = []
  for (let i = 0; i < direct; i++)
    directMs.push((await get(upstreamAgent, upstreamPort, `/v2/assets/${benchId('direct', i)}`, { 'x-api-key': UPSTREAM_KEY })).ms)
  upstreamAgent.destroy()

  const added = []
  const total = []
  const own = []
  const proxyAdded = []
  const proxyTotal = []
  const timings = { edge: [], kv: [], upstream: [] }
  const answers = []
  /** One call of the bare proxy for a never-seen id: its time beyond the upstream's own. */
  const proxyMiss = async (i) => {
    const id = benchId('proxy', i)
    const res = await get(baseline.agent, baseline.port, `/proxy${assetPath(id)}`)
    const served = counters.serviceMs.get(id)
    if (res.status !== 200 || served?.length !== 1) throw new Error(`proxy ${id}: ${res.status}, ${served?.length ?? 0} upstream calls`)
    if (i < warmup) return
    proxyAdded.push(res.ms - served[0])
    proxyTotal.push(res.ms)
  }
  for (let i = 0; i < warmup + samples; i++) {
    const id = benchId('miss', i)
    // Alternate which Worker goes first, so neither always follows the other.
    if (baseline && i % 2 === 0) await proxyMiss(i)
    const res = await get(gateway.agent, gateway.port, assetPath(id), AUTH)
    if (baseline && i % 2 === 1) await proxyMiss(i)
    if (i < warmup) continue
    const served = counters.serviceMs.get(id)
    if (res.status !== 200 || served?.length !== 1)
      throw new Error(`miss ${id}: ${res.status} ${res.headers['cache-status']}, ${served?.length ?? 0} upstream calls`)
    answers.push(String(res.headers['cache-status']))
    added.push(res.ms - served[0])
    total.push(res.ms)
    own.push(served[0])
    const st = serverTiming(res.headers['server-timing'])
    for (const k of Object.keys(timings)) if (st[k] !== undefined) timings[k].push(st[k])
  }
  // The same ids again, now memory hits: what any request through wrangler dev costs.
  const hitMs = []
  for (let i = warmup; i < warmup + hits; i++) hitMs.push((await get(gateway.agent, gateway.port, assetPath(benchId('miss', i)), AUTH)).ms)
  const bareMs = []
  for (let i = 0; baseline && i < hits; i++) bareMs.push((await get(baseline.agent, baseline.port, assetPath(benchId('miss', i)), AUTH)).ms)

  const proxy = baseline ? { addedMs: p50p99(proxyAdded), totalMs: p50p99(proxyTotal) } : undefined
  const addedMs = p50p99(added)
  return {
    samples,
    concurrency: 1,
    addedMs,
    // What the gateway's miss adds beyond the bare proxy's: the difference of the two percentiles.
    overBareProxyMs: proxy ? { p50: round(addedMs.p50 - proxy.addedMs.p50), p99: round(addedMs.p99 - proxy.addedMs.p99) } : undefined,
    bareProxy: proxy,
    totalMs: p50p99(total),
    upstreamOwnMs: p50p99(own),
    directToUpstreamMs: p50p99(directMs),
    sequentialHitMs: p50p99(hitMs),
    sequentialBareHonoMs: baseline ? p50p99(bareMs) : undefined,
    gatewayServerTimingMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, p50p99(v)])),
    answers: tally(answers),
  }
}
