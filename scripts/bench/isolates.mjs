// Several gateway isolates, one provider gate (docs/coordination.md): Miniflare runs ISOLATES copies
// of the gateway Worker (bundled from src/dev.ts), each its own isolate, sharing one PROVIDER_GATE
// namespace and one KV namespace, against a fake provider Worker that counts calls and answers in
// 150 ms (test/node/fake-provider.js; the cluster code is the multi-isolate test's own).
import { bundleGateway, busiestSecond, providerStats, startCluster } from '../../test/node/multi-isolate.ts'
import { percentile, round } from './client.mjs'
import { SETTINGS } from './settings.mjs'

const AD_ACCOUNT = 'ce4ff15e-f04d-48b9-9ddf-fb3c85fbd57a'
const id = (tag, i) => `${tag}0000000-0000-4000-8000-${String(i).padStart(12, '0')}`
const spotifyPath = (tag, i) => `/spotify/ad_accounts/${AD_ACCOUNT}/assets/${id(tag, i)}`
const p50p99 = (values) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) })

/** `n` lookups at once, round-robin over the isolates; the answers' statuses (bodies read). */
async function spread(cluster, n, path) {
  const answers = await Promise.all(Array.from({ length: n }, (_, i) => cluster.fetch(cluster.gateways[i % cluster.gateways.length], path(i))))
  return Promise.all(
    answers.map(async (r) => {
      const body = await r.text()
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body }
    }),
  )
}

/** Every isolate of `cluster` mints its Spotify token (or gets it from the gate): later misses need none. */
const warm = (cluster, tag) => spread(cluster, cluster.gateways.length, (i) => spotifyPath(tag, i))

/** One Spotify miss of a never-seen id, client-side ms. */
async function missMs(cluster, path, i) {
  const start = performance.now()
  const r = await cluster.fetch(cluster.gateways[i % cluster.gateways.length], path)
  await r.arrayBuffer()
  if (r.status !== 200) throw new Error(`miss ${i} answered ${r.status}`)
  return performance.now() - start
}

export async function isolatesSection() {
  const { isolates, cold, distinct, token, latencySamples } = SETTINGS.isolates
  const script = await bundleGateway()
  const cluster = await startCluster(script, isolates)
  const result = { isolates }
  try {
    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const coldAnswers = await spread(cluster, cold, () => `/frameio/v2/assets/${id('a', 1)}`)
    result.cold = {
      lookups: cold,
      upstreamCalls: (await providerStats(cluster)).frameio.length,
      non200: coldAnswers.filter((a) => a.status !== 200).length,
      distinctBodies: new Set(coldAnswers.map((a) => a.body)).size,
    }

    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const burst = await spread(cluster, distinct, (i) => `/frameio/v2/assets/${id('b', i)}`)
    const calls = (await providerStats(cluster)).frameio
    result.burst = {
      lookups: distinct,
      upstreamCalls: calls.length,
      busiestSecond: busiestSecond(calls),
      ok: burst.filter((a) => a.status === 200).length,
      limited: burst.filter((a) => a.status === 429 && Number(a.retryAfter) >= 1).length,
      other: burst.filter((a) => a.status !== 200 && !(a.status === 429 && Number(a.retryAfter) >= 1)).length,
    }

    await providerStats(cluster, { refresh: 'multi-isolate-refresh-token' })
    const tokenAnswers = await spread(cluster, token, (i) => spotifyPath('c', i))
    const stats = await providerStats(cluster)
    result.token = { lookups: token, tokenRequests: stats.token, invalidGrant: stats.invalidGrant, non200: tokenAnswers.filter((a) => a.status !== 200).length }

    // The same miss with and without the gate, alternated so both see the same machine.
    const alone = await startCluster(script, isolates, {}, { gate: false })
    try {
      await warm(cluster, 'df')
      await warm(alone, 'ef')
      const [withGate, withoutGate] = [[], []]
      for (let i = 0; i < latencySamples; i++) {
        withGate.push(await missMs(cluster, spotifyPath('d', i), i))
        withoutGate.push(await missMs(alone, spotifyPath('e', i), i))
      }
      result.withGateMs = p50p99(withGate)
      result.withoutGateMs = p50p99(withoutGate)
    } finally {
      await alone.mf.dispose()
    }
  } finally {
    await cluster.mf.dispose()
  }
  result.addedMs = { p50: round(result.withGateMs.p50 - result.withoutGateMs.p50), p99: round(result.withGateMs.p99 - result.withoutGateMs.p99) }
  return result
}
