// The memory tier stays within its byte bound when more distinct ids are looked up than fit.
// workerd's RSS is context only: the same lookups through a gateway with the memory tier off
// show how much of the growth is the tier's and how much is workerd's own (local Cache API, KV, V8).
import { AUTH, assetPath, get, pool, round } from './client.mjs'
import { workerdRssKiB } from './processes.mjs'
import { SETTINGS } from './settings.mjs'
import { benchId, bodyOf } from './upstream.mjs'

const mib = (kib) => round(kib / 1024, 1)

async function fill(gateway, label, count) {
  let failed = 0
  const start = performance.now()
  await pool(
    Array.from({ length: count }, (_, i) => benchId(label, i)),
    SETTINGS.memoryBound.concurrency,
    async (id) => {
      if ((await get(gateway.agent, gateway.port, assetPath(id), AUTH)).status !== 200) failed++
    },
  )
  return { failed, seconds: round((performance.now() - start) / 1000, 1) }
}

async function rssAround(gateway, work) {
  const before = workerdRssKiB(gateway.child)
  const result = await work()
  const after = workerdRssKiB(gateway.child)
  return {
    result,
    rssMiB: {
      worker: { before: mib(before.userKiB), after: mib(after.userKiB), growth: mib(after.userKiB - before.userKiB) },
      devProxy: { before: mib(before.proxyKiB), after: mib(after.proxyKiB) },
      processes: after.processes,
    },
  }
}

/** `bounded` runs with the memoryBound settings; `control` is a gateway with the memory tier off. */
export async function memorySection(bounded, control) {
  const stats = async () => {
    const res = await get(bounded.agent, bounded.port, '/admin/cache', AUTH)
    if (res.status !== 200) throw new Error(`/admin/cache answered ${res.status}: ${res.body.slice(0, 200)}`)
    return JSON.parse(res.body).memory
  }
  const before = await stats()
  if (!before || before.maxBytes !== SETTINGS.memoryBound.maxBytes) throw new Error(`memory tier not configured as asked: ${JSON.stringify(before)}`)
  // Bytes one entry counts for (src/cache/entry.ts `entrySize`: UTF-16 body and ETag, +160), to
  // look up `fillFactor` times more ids than fit.
  const entryBytes = Buffer.byteLength(bodyOf(benchId('fill', 0))) * 2 + 24 * 2 + 160
  const lookups = Math.ceil((SETTINGS.memoryBound.fillFactor * before.maxBytes) / entryBytes)
  const filled = await rssAround(bounded, () => fill(bounded, 'fill', lookups))
  const after = await stats()
  const controlRun = control ? await rssAround(control, () => fill(control, 'fill-control', lookups)) : undefined
  return {
    vars: {
      MEMORY_CACHE_MAX_BYTES: SETTINGS.memoryBound.maxBytes,
      MEMORY_CACHE_MAX_ENTRIES: SETTINGS.memoryBound.maxEntries,
      MEMORY_TTL_S: SETTINGS.memoryBound.ttlS,
    },
    distinctLookups: lookups,
    failedLookups: filled.result.failed,
    entryBytesEstimate: entryBytes,
    seconds: filled.result.seconds,
    before,
    after,
    evicted: lookups - after.entries,
    filledPastBound: after.entries < lookups,
    withinBound: after.bytes <= after.maxBytes,
    workerdRssMiB: filled.rssMiB,
    memoryTierOffControl: controlRun && { failedLookups: controlRun.result.failed, workerdRssMiB: controlRun.rssMiB },
  }
}
