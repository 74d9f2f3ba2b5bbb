// What `npm run bench` measures and how hard (issue 8 item 10). BENCH_* variables override the
// load shape for quick local runs; targets are fixed here and nowhere else.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback)

export const SETTINGS = {
  connections: num('BENCH_CONNECTIONS', 32),
  // Many short rounds: on a shared machine throughput drifts within seconds, and each round's
  // ratio pairs targets measured close together.
  roundS: num('BENCH_ROUND_S', 3),
  rounds: num('BENCH_ROUNDS', 9),
  warmupS: num('BENCH_WARMUP_S', 2),
  upstreamLatencyMs: num('BENCH_UPSTREAM_MS', 20),
  zipf: { lookups: 10_000, ids: 1000, exponent: 1.0, concurrency: 32, seed: 0x5eed },
  coldConcurrent: 200,
  coldRounds: 3,
  miss: { warmup: 20, samples: 300, direct: 100, hits: 100 },
  // Several isolates, one provider gate (Miniflare, fake provider answering in 150 ms).
  isolates: { isolates: 4, cold: 200, distinct: 300, token: 50, latencySamples: 100 },
  memoryBound: { maxBytes: 4_194_304, maxEntries: 1_000_000, ttlS: 600, fillFactor: 1.5, concurrency: 32 },
  // Frame.io webhooks → events → deliveries: warm-up, then `steady` at `steadyRps`, then `burst` at once.
  // frameioMaxRps 0: Frame.io's pacing (5 calls a second) off, so the burst measures the event path.
  events: {
    warmup: 5,
    steady: 50,
    steadyRps: 10,
    burst: 200,
    burstConcurrency: 50,
    frameioMaxRps: num('BENCH_EVENTS_FRAMEIO_RPS', 0),
    // A phase's deadline; paced, plus its webhooks ÷ frameioMaxRps (scripts/bench/events.mjs, `settle`).
    deliveryDeadlineS: 60,
    quietS: 10,
    graceS: 2,
  },
}

export const TARGETS = {
  // Cache API hits ÷ the bare Worker (issue 8).
  hitRatio: 0.85,
  hitRatioStretch: 0.95,
  // Memory hits ÷ the bare Worker and ÷ the @unkey/cache peer (issue 18).
  memoryHitRatio: 0.95,
  memoryVsPeerRatio: 1.0,
  // Milliseconds a miss may add (p50) over the bare proxy Worker (issue 18).
  missOverProxyP50Ms: 5,
  // The production bundle, gzipped (issue 12).
  bundleGzipKiB: 40,
  // Events lost between a provider's webhook and the subscriber: deliveries are at-least-once (issue 16).
  eventsLost: 0,
}

/** The whole run, start to finish; past it the bench stops everything and fails. */
export const RUN_DEADLINE_MS = 9 * 60_000
/** One wrangler dev from spawn to its first good answer. */
export const READY_DEADLINE_MS = 120_000

export const DEV_KEY = 'ae_dev_sandbox_key'
export const UPSTREAM_KEY = 'bench'
export const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler')
