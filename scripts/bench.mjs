#!/usr/bin/env node
// `npm run bench`: the numbers of issue 8 item 10, measured locally in workerd (wrangler dev)
// against a loopback upstream that speaks Sync's `GET /v2/assets/{id}` with a set latency.
// Writes bench/results.json, prints a table and rewrites the README's "Benchmark" section
// (between <!-- bench:start --> and <!-- bench:end -->; nothing else in README.md).
//
//   npm run bench                        everything (~3 min; the whole run is bounded at 7.5 min)
//   npm run bench -- --only hit,bundle   some sections; results go to bench/results/<time>.tmp.json
//                                        and the README is left alone
//   npm run bench -- --gateway-config /tmp/x/wrangler.toml   measure another build of the gateway
//                                        (an experiment; implies the .tmp.json output)
//
// Environment: BENCH_ROUNDS (5), BENCH_ROUND_S (5), BENCH_CONNECTIONS (32), BENCH_UPSTREAM_MS (20),
// BENCH_KEEP_TMP=1 keeps the wrangler logs and state.
// Loopback only: every server listens on 127.0.0.1 and nothing calls out (wrangler's telemetry
// and its Request.cf download are switched off).
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler')
const DEV_KEY = 'ae_dev_sandbox_key'
const UPSTREAM_KEY = 'bench'

const num = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback)
const SETTINGS = {
  connections: num('BENCH_CONNECTIONS', 32),
  roundS: num('BENCH_ROUND_S', 5),
  rounds: num('BENCH_ROUNDS', 5),
  warmupS: 2,
  upstreamLatencyMs: num('BENCH_UPSTREAM_MS', 20),
  zipf: { lookups: 10_000, ids: 1000, exponent: 1.0, concurrency: 32, seed: 0x5eed },
  coldConcurrent: 200,
  miss: { warmup: 20, samples: 300, direct: 100 },
  memoryBound: { maxBytes: 4_194_304, maxEntries: 1_000_000, fillFactor: 1.5, concurrency: 32 },
  bundleTargetKiB: 64,
  hitTarget: 0.85,
  hitStretch: 0.95,
}
const RUN_DEADLINE_MS = 7.5 * 60_000
const READY_DEADLINE_MS = 120_000

// ---------------------------------------------------------------------------------------------
// Arguments

const argv = process.argv.slice(2)
const argOf = (name) => {
  const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`))
  if (at < 0) return undefined
  return argv[at].includes('=') ? argv[at].split('=').slice(1).join('=') : argv[at + 1]
}
const SECTIONS = ['hit', 'miss', 'zipf', 'coalesce', 'memory', 'bundle']
const only = argOf('--only')?.split(',').map((s) => s.trim())
for (const s of only ?? []) if (!SECTIONS.includes(s)) fail(`unknown section ${s}; sections: ${SECTIONS.join(', ')}`)
const want = (section) => !only || only.includes(section)
const gatewayConfig = resolve(argOf('--gateway-config') ?? join(ROOT, 'wrangler.toml'))
const partial = Boolean(only) || gatewayConfig !== join(ROOT, 'wrangler.toml')

// ---------------------------------------------------------------------------------------------
// Child processes: each in its own process group, all killed on every way out.

const children = new Set()
const tmp = mkdtempSync(join(os.tmpdir(), 'asset-edge-bench-'))
const childEnv = {
  ...process.env,
  PATH: `${join(ROOT, 'node_modules', '.bin')}${process.platform === 'win32' ? ';' : ':'}${process.env.PATH ?? ''}`,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false', // no download of the Request.cf object: loopback only
  NO_COLOR: '1',
  FORCE_COLOR: '0',
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

async function stopAll() {
  const alive = [...children]
  for (const child of alive) killGroup(child, 'SIGTERM')
  await Promise.race([Promise.all(alive.map((c) => c.exited)), sleep(5000)])
  for (const child of children) killGroup(child, 'SIGKILL')
}

process.on('exit', () => {
  for (const child of children) killGroup(child, 'SIGKILL')
  if (!process.env.BENCH_KEEP_TMP) rmSync(tmp, { recursive: true, force: true })
})
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\nbench: ${sig}, stopping`)
    stopAll().finally(() => process.exit(130))
  })
}

function fail(message) {
  console.error(`bench: ${message}`)
  process.exit(1)
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

/** Starts `wrangler …` in its own process group with its output in a log file. */
function startWrangler(name, args) {
  const logPath = join(tmp, `${name}.log`)
  const fd = openSync(logPath, 'w')
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  child.exited = new Promise((r) => child.on('exit', r))
  child.logPath = logPath
  child.label = name
  children.add(child)
  child.exited.then(() => children.delete(child))
  return child
}

function logTail(child, lines = 30) {
  try {
    return readFileSync(child.logPath, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolvePort(port))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Deterministic ids and the loopback upstream

/** A UUID (v4 layout) that is the same on every run: `label` names the set, `i` the member. */
function benchId(label, i) {
  const h = createHash('sha256').update(`asset-edge-bench/${label}/${i}`).digest('hex')
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** One signing instant for the run, so an id's body is byte-identical on every call. */
const SIGNED_AT = new Date()
const AMZ_DATE = SIGNED_AT.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')

function s3Url(path, id) {
  const signature = createHash('sha256').update(`${path}/${AMZ_DATE}`).digest('hex')
  const q = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `AKIABENCHEXAMPLE/${AMZ_DATE.slice(0, 8)}/us-east-1/s3/aws4_request`,
    'X-Amz-Date': AMZ_DATE,
    'X-Amz-Expires': '3600',
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Signature': signature,
  })
  return `https://sync-prod-assets.s3.us-east-1.amazonaws.com/org_bench/${id}/${path}?${q}`
}

/** Sync's Asset, as `GET /v2/assets/{id}` answers it (openapi/sync.yaml; sandbox `syncRecord`). */
function syncRecord(id) {
  return {
    id,
    createdAt: '2026-01-15T09:30:00Z',
    updatedAt: '2026-01-15T09:30:00Z',
    type: 'VIDEO',
    visibility: 'ORGANIZATION',
    name: `bench-${id.slice(0, 8)}.mp4`,
    url: s3Url('video.mp4', id),
    size: 10_485_760,
    format: 'mp4',
    inputType: 'UPLOAD',
    durationSeconds: 30.5,
    thumbnailUrl: s3Url('thumb.jpg', id),
    width: 1920,
    height: 1080,
  }
}

const bodies = new Map()
const bodyOf = (id) => {
  let body = bodies.get(id)
  if (!body) bodies.set(id, (body = JSON.stringify(syncRecord(id))))
  return body
}

const upstream = {
  calls: new Map(), // id -> calls answered
  serviceMs: new Map(), // id -> ms from request to the last byte written, per call
  callsOf(ids) {
    let total = 0
    let max = 0
    for (const id of ids) {
      const n = this.calls.get(id) ?? 0
      total += n
      max = Math.max(max, n)
    }
    return { total, max }
  },
}

function startUpstream(latencyMs) {
  const server = http.createServer((req, res) => {
    const start = performance.now()
    const match = /^\/v2\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(req.url ?? '')
    const answer = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
      res.end(body)
    }
    if (req.method !== 'GET' || !match) return answer(404, JSON.stringify({ message: 'Not Found', statusCode: 404 }))
    if (req.headers['x-api-key'] !== UPSTREAM_KEY) return answer(401, JSON.stringify({ message: 'Unauthorized', statusCode: 401 }))
    const id = match[1]
    upstream.calls.set(id, (upstream.calls.get(id) ?? 0) + 1)
    const body = bodyOf(id)
    setTimeout(() => {
      res.on('finish', () => {
        const list = upstream.serviceMs.get(id) ?? []
        list.push(performance.now() - start)
        upstream.serviceMs.set(id, list)
      })
      answer(200, body)
    }, latencyMs)
  })
  server.keepAliveTimeout = 120_000
  return new Promise((resolveServer) => server.listen(0, '127.0.0.1', () => resolveServer(server)))
}

// ---------------------------------------------------------------------------------------------
// HTTP client helpers (node:http, keep-alive, loopback)

function get(agent, port, path, headers = {}) {
  return new Promise((resolveGet, reject) => {
    const start = performance.now()
    const req = http.request({ host: '127.0.0.1', port, path, method: 'GET', agent, headers }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('error', reject)
      res.on('end', () =>
        resolveGet({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - start }),
      )
    })
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${path}: timed out`)))
    req.on('error', reject)
    req.end()
  })
}

const AUTH = { authorization: `Bearer ${DEV_KEY}` }
const assetPath = (id) => `/sync/v2/assets/${id}`

async function pool(items, concurrency, work) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        await work(items[i], i)
      }
    }),
  )
}

function percentile(values, p) {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}
const median = (values) => {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}
const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x)

/** `Server-Timing` parts as { name: ms }. */
function serverTiming(header) {
  const out = {}
  for (const part of String(header ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part)
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}
const cacheDetail = (header) => /detail=([\w-]+)/.exec(String(header ?? ''))?.[1] ?? (/fwd=([\w-]+)/.exec(String(header ?? ''))?.[0] ?? 'none')

// ---------------------------------------------------------------------------------------------
// Targets under test

function gatewayArgs(port, inspectorPort, upstreamPort, vars) {
  const all = {
    SANDBOX: 'on',
    DEV_GATEWAY_KEY: DEV_KEY,
    SYNC_BASE_URL: `http://127.0.0.1:${upstreamPort}`,
    SYNC_API_KEY: UPSTREAM_KEY,
    ...vars,
  }
  return [
    'dev',
    '--config', gatewayConfig,
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--inspector-port', String(inspectorPort),
    '--persist-to', join(tmp, `state-${port}`),
    // Request lines are not logged: each would cost a loopback call per request in both workers.
    '--log-level', 'warn',
    '--show-interactive-dev-session=false',
    ...Object.entries(all).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ]
}

async function startTarget(name, args, readyPath) {
  const [port, inspectorPort] = [args[args.indexOf('--port') + 1], args[args.indexOf('--inspector-port') + 1]]
  const child = startWrangler(name, args)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  return { name, child, port: Number(port), inspectorPort: Number(inspectorPort), agent, readyPath }
}

async function waitReady(target) {
  const deadline = Date.now() + READY_DEADLINE_MS
  let exited = false
  target.child.exited.then(() => (exited = true))
  for (;;) {
    if (exited) throw new Error(`${target.name} exited before it was ready:\n${logTail(target.child)}`)
    try {
      const res = await get(target.agent, target.port, target.readyPath, AUTH)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${target.name} not ready within ${READY_DEADLINE_MS / 1000} s:\n${logTail(target.child)}`)
    await sleep(250)
  }
}

/** Descendant pids of `pid` (whole tree), from /proc. */
function descendants(pid) {
  const parent = new Map()
  const comm = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const close = stat.lastIndexOf(')')
      comm.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close))
      parent.set(Number(entry), Number(stat.slice(close + 2).split(' ')[1]))
    } catch {
      // gone
    }
  }
  const out = []
  const queue = [pid]
  while (queue.length) {
    const p = queue.shift()
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push({ pid: child, comm: comm.get(child) })
        queue.push(child)
      }
    }
  }
  return out
}

/** Summed VmRSS (KiB) of the workerd processes under a wrangler process. */
function workerdRssKiB(child) {
  const procs = descendants(child.pid).filter((p) => p.comm === 'workerd')
  let total = 0
  const each = []
  for (const p of procs) {
    try {
      const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0)
      total += kib
      each.push({ pid: p.pid, rssKiB: kib })
    } catch {
      // gone
    }
  }
  return { totalKiB: total, processes: each }
}

// ---------------------------------------------------------------------------------------------
// Sections

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
    durationS: result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p99: result.latency.p99 },
  }
}

/** Waits until `target` answers `id` with the wanted Cache-Status detail (the first answer primes it). */
async function primeHit(target, id, detail) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const res = await get(target.agent, target.port, assetPath(id), AUTH)
    if (res.status !== 200) throw new Error(`${target.name}: priming ${id} answered ${res.status}: ${res.body.slice(0, 200)}`)
    if (cacheDetail(res.headers['cache-status']) === detail) return res
    if (Date.now() > deadline) throw new Error(`${target.name}: ${id} never became a ${detail} hit (last: ${res.headers['cache-status']})`)
    await sleep(50)
  }
}

/** What answered the hits of one short round (a separate, untimed round: tallying costs client time). */
async function hitMix(target, id) {
  const tally = {}
  await autocannon({
    url: `http://127.0.0.1:${target.port}${assetPath(id)}`,
    connections: SETTINGS.connections,
    duration: 1,
    headers: AUTH,
    requests: [
      {
        method: 'GET',
        onResponse: (status, _body, _ctx, headers) => {
          const key = `${status} ${cacheDetail(headers?.['cache-status'])}`
          tally[key] = (tally[key] ?? 0) + 1
        },
      },
    ],
  })
  return tally
}

async function hitSection(baseline, gateways, hitId) {
  const targets = [
    { key: 'baseline', target: baseline, path: assetPath(hitId) },
    { key: 'memory', target: gateways.memory, path: assetPath(hitId), detail: 'memory' },
    { key: 'edge', target: gateways.edge, path: assetPath(hitId), detail: 'edge' },
  ]
  // The bodies must match byte for byte, or the ratio compares different work.
  const bodyOfTarget = {}
  for (const t of targets) {
    if (t.detail) await primeHit(t.target, hitId, t.detail)
    bodyOfTarget[t.key] = (await get(t.target.agent, t.target.port, t.path, AUTH)).body
  }
  const same = bodyOfTarget.baseline === bodyOfTarget.memory && bodyOfTarget.memory === bodyOfTarget.edge && bodyOfTarget.memory === bodyOf(hitId)
  if (!same) throw new Error('hit bodies differ between the baseline and the gateways')

  console.log(`  warm-up ${SETTINGS.warmupS} s each`)
  for (const t of targets) await cannon(t.target, t.path, SETTINGS.warmupS)
  const callsBefore = upstream.calls.get(hitId) ?? 0
  const rounds = Object.fromEntries(targets.map((t) => [t.key, []]))
  for (let r = 0; r < SETTINGS.rounds; r++) {
    // Rotate the order each round, so no target always runs first or last.
    const order = targets.map((_, i) => targets[(i + r) % targets.length])
    for (const t of order) {
      const res = await cannon(t.target, t.path, SETTINGS.roundS)
      const probe = t.detail ? cacheDetail((await get(t.target.agent, t.target.port, t.path, AUTH)).headers['cache-status']) : undefined
      rounds[t.key].push({ ...res, probeAfter: probe })
      if (res.non2xx || res.errors || res.timeouts) throw new Error(`${t.key}: ${res.non2xx} non-2xx, ${res.errors} errors, ${res.timeouts} timeouts in a round`)
    }
    console.log(`  round ${r + 1}/${SETTINGS.rounds}: ${targets.map((t) => `${t.key} ${rounds[t.key][r].rps.toFixed(0)}`).join(', ')} req/s`)
  }
  const upstreamCallsDuringRounds = (upstream.calls.get(hitId) ?? 0) - callsBefore
  const mix = { memory: await hitMix(gateways.memory, hitId), edge: await hitMix(gateways.edge, hitId) }
  const summary = (key) => {
    const rps = rounds[key].map((x) => x.rps)
    return { rps: rps.map((x) => round(x, 1)), medianRps: round(median(rps), 1), latencyP50Ms: median(rounds[key].map((x) => x.latencyMs.p50)), latencyP99Ms: median(rounds[key].map((x) => x.latencyMs.p99)) }
  }
  const ratioOf = (key) => {
    const paired = rounds[key].map((x, i) => x.rps / rounds.baseline[i].rps)
    return { ...summary(key), ratioPerRound: paired.map((x) => round(x, 3)), ratio: round(median(paired), 3), ratioOfMedians: round(median(rounds[key].map((x) => x.rps)) / median(rounds.baseline.map((x) => x.rps)), 3), probesAfterRounds: rounds[key].map((x) => x.probeAfter), hitMix: mix[key] }
  }
  return {
    hitId,
    bodyBytes: Buffer.byteLength(bodyOf(hitId)),
    baseline: summary('baseline'),
    memory: ratioOf('memory'),
    edge: ratioOf('edge'),
    upstreamCallsDuringRounds,
  }
}

async function missSection(gateway) {
  const { warmup, samples, direct } = SETTINGS.miss
  // The upstream's latency as a client sees it, without the gateway.
  const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const directMs = []
  for (let i = 0; i < direct; i++) directMs.push((await get(upstreamAgent, upstreamPort, `/v2/assets/${benchId('direct', i)}`, { 'x-api-key': UPSTREAM_KEY })).ms)
  upstreamAgent.destroy()

  const added = []
  const total = []
  const service = []
  const timings = { edge: [], kv: [], upstream: [] }
  const statuses = {}
  for (let i = 0; i < warmup + samples; i++) {
    const id = benchId('miss', i)
    const res = await get(gateway.agent, gateway.port, assetPath(id), AUTH)
    const status = `${res.status} ${res.headers['cache-status']}`
    if (i < warmup) continue
    statuses[status] = (statuses[status] ?? 0) + 1
    const own = upstream.serviceMs.get(id)
    if (res.status !== 200 || !own || own.length !== 1) throw new Error(`miss ${id}: ${status}, upstream calls ${own?.length ?? 0}`)
    added.push(res.ms - own[0])
    total.push(res.ms)
    service.push(own[0])
    const st = serverTiming(res.headers['server-timing'])
    for (const k of Object.keys(timings)) if (st[k] !== undefined) timings[k].push(st[k])
  }
  // Sequential hits on the same ids, for the floor a request through wrangler dev costs.
  const hitMs = []
  for (let i = warmup; i < warmup + 100; i++) hitMs.push((await get(gateway.agent, gateway.port, assetPath(benchId('miss', i)), AUTH)).ms)
  const p = (values) => ({ p50: round(percentile(values, 50)), p99: round(percentile(values, 99)) })
  return {
    samples,
    sequential: true,
    addedMs: p(added),
    totalMs: p(total),
    upstreamServiceMs: p(service),
    directToUpstreamMs: p(directMs),
    sequentialHitMs: p(hitMs),
    gatewayServerTimingMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, p(v)])),
    answers: statuses,
  }
}

/** Zipf-like draws: rank k with probability ∝ 1 / k^s, from a seeded PRNG (mulberry32). */
function zipfSequence({ lookups, ids, exponent, seed }) {
  let a = seed >>> 0
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
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

async function zipfSection(gateway, label, freshS) {
  const ranks = zipfSequence(SETTINGS.zipf)
  const ids = Array.from({ length: SETTINGS.zipf.ids }, (_, i) => benchId(`zipf-${label}`, i))
  const statuses = {}
  const start = performance.now()
  await pool(ranks, SETTINGS.zipf.concurrency, async (rank) => {
    const res = await get(gateway.agent, gateway.port, assetPath(ids[rank]), AUTH)
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
  })
  const seconds = (performance.now() - start) / 1000
  await sleep(200)
  const distinct = new Set(ranks).size
  const { total, max } = upstream.callsOf(ids)
  return {
    lookups: ranks.length,
    ids: SETTINGS.zipf.ids,
    exponent: SETTINGS.zipf.exponent,
    concurrency: SETTINGS.zipf.concurrency,
    distinctRequested: distinct,
    upstreamCalls: total,
    maxCallsForOneId: max,
    seconds: round(seconds, 1),
    freshnessWindowS: freshS,
    withinOneWindow: seconds < freshS,
    statuses,
  }
}

async function coalesceSection(gateway, label) {
  const n = SETTINGS.coldConcurrent
  const agent = new http.Agent({ keepAlive: true, maxSockets: n })
  // Open the sockets first, so the lookups leave together instead of behind n connects.
  await Promise.all(Array.from({ length: n }, () => get(agent, gateway.port, '/healthz')))
  const id = benchId(`coalesce-${label}`, 0)
  const answers = await Promise.all(Array.from({ length: n }, () => get(agent, gateway.port, assetPath(id), AUTH)))
  agent.destroy()
  await sleep(200)
  const statuses = {}
  for (const a of answers) {
    const k = `${a.status} ${cacheDetail(a.headers['cache-status'])}`
    statuses[k] = (statuses[k] ?? 0) + 1
  }
  return {
    concurrent: n,
    upstreamCalls: upstream.calls.get(id) ?? 0,
    allOk: answers.every((a) => a.status === 200 && a.body === bodyOf(id)),
    spreadMs: round(Math.max(...answers.map((a) => a.ms)) - Math.min(...answers.map((a) => a.ms)), 1),
    answers: statuses,
  }
}

async function memorySection(gateway) {
  const stats = async () => {
    const res = await get(gateway.agent, gateway.port, '/admin/cache', AUTH)
    if (res.status !== 200) throw new Error(`/admin/cache answered ${res.status}: ${res.body.slice(0, 200)}`)
    return JSON.parse(res.body).memory
  }
  const before = await stats()
  const rssBefore = workerdRssKiB(gateway.child)
  // Rough bytes one entry counts for (src/cache/entry.ts entrySize), to look up more than fit.
  const entryEstimate = Buffer.byteLength(bodyOf(benchId('fill', 0))) * 2 + 24 * 2 + 160
  const lookups = Math.ceil((SETTINGS.memoryBound.fillFactor * before.maxBytes) / entryEstimate)
  const ids = Array.from({ length: lookups }, (_, i) => benchId('fill', i))
  let failed = 0
  const start = performance.now()
  await pool(ids, SETTINGS.memoryBound.concurrency, async (id) => {
    const res = await get(gateway.agent, gateway.port, assetPath(id), AUTH)
    if (res.status !== 200) failed++
  })
  const seconds = (performance.now() - start) / 1000
  const after = await stats()
  const rssAfter = workerdRssKiB(gateway.child)
  return {
    config: { MEMORY_CACHE_MAX_BYTES: SETTINGS.memoryBound.maxBytes, MEMORY_CACHE_MAX_ENTRIES: SETTINGS.memoryBound.maxEntries, MEMORY_TTL_S: 600 },
    distinctLookups: lookups,
    failedLookups: failed,
    entryBytesEstimate: entryEstimate,
    seconds: round(seconds, 1),
    before,
    after,
    evicted: lookups - after.entries,
    filledPastBound: after.entries < lookups,
    withinBound: after.bytes <= after.maxBytes,
    workerdRssMiB: { before: round(rssBefore.totalKiB / 1024, 1), after: round(rssAfter.totalKiB / 1024, 1), processes: rssAfter.processes.length },
  }
}

function bundleSection() {
  const outdir = join(tmp, 'bundle')
  const res = spawnSync(WRANGLER, ['deploy', '--dry-run', '--outdir', outdir, '--config', gatewayConfig], { cwd: ROOT, env: childEnv, encoding: 'utf8', timeout: 90_000 })
  const text = `${res.stdout ?? ''}${res.stderr ?? ''}`
  const m = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/.exec(text)
  if (res.status !== 0 || !m) throw new Error(`wrangler deploy --dry-run failed (status ${res.status}):\n${text.slice(-2000)}`)
  return { totalKiB: Number(m[1]), gzipKiB: Number(m[2]), targetKiB: SETTINGS.bundleTargetKiB }
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n))

function targetRows(r) {
  const rows = []
  const hitRow = (what, x) => {
    if (!x) return
    const met = x.ratio >= SETTINGS.hitTarget
    rows.push({
      what,
      target: `≥ ${SETTINGS.hitTarget} (stretch ${SETTINGS.hitStretch})`,
      measured: `${x.ratio.toFixed(2)} (${fmt(Math.round(x.medianRps))} vs ${fmt(Math.round(r.hit.baseline.medianRps))} req/s)`,
      met: met ? (x.ratio >= SETTINGS.hitStretch ? 'met, stretch met' : 'met, stretch not met') : 'not met',
      ok: met,
    })
  }
  if (r.hit) {
    hitRow('Cache hits, memory tier: gateway ÷ bare Hono req/s', r.hit.memory)
    hitRow('Cache hits, Cache API (memory tier off): gateway ÷ bare Hono req/s', r.hit.edge)
  }
  const zipfRow = (what, z) => {
    if (!z) return
    const ok = z.upstreamCalls === z.distinctRequested && z.withinOneWindow
    rows.push({ what, target: `= distinct ids requested (${fmt(z.distinctRequested)})`, measured: `${fmt(z.upstreamCalls)} calls`, met: ok ? 'met' : 'not met', ok })
  }
  zipfRow(`Upstream calls, ${fmt(SETTINGS.zipf.lookups)} Zipf lookups over ${fmt(SETTINGS.zipf.ids)} ids`, r.zipf?.memory)
  zipfRow('… same, memory tier off', r.zipf?.edge)
  const coalesceRow = (what, c) => {
    if (!c) return
    const ok = c.upstreamCalls === 1 && c.allOk
    rows.push({ what, target: '1', measured: `${c.upstreamCalls}${c.allOk ? '' : ' (some answers wrong)'}`, met: ok ? 'met' : 'not met', ok })
  }
  coalesceRow(`Upstream calls, ${SETTINGS.coldConcurrent} concurrent cold lookups of one id`, r.coalesce?.memory)
  coalesceRow('… same, memory tier off', r.coalesce?.edge)
  if (r.miss) {
    rows.push({
      what: `Latency added on a miss, p50 / p99 (upstream: ${SETTINGS.upstreamLatencyMs} ms)`,
      target: 'reported (no target)',
      measured: `${r.miss.addedMs.p50.toFixed(1)} / ${r.miss.addedMs.p99.toFixed(1)} ms`,
      met: '—',
      ok: true,
    })
  }
  if (r.memory) {
    const m = r.memory
    const ok = m.withinBound && m.filledPastBound && m.failedLookups === 0
    rows.push({
      what: `Memory tier full (${fmt(m.distinctLookups)} distinct ids, bound ${fmt(m.after.maxBytes)} B)`,
      target: 'bytes ≤ maxBytes',
      measured: `${fmt(m.after.bytes)} B in ${fmt(m.after.entries)} entries; workerd RSS ${m.workerdRssMiB.before} → ${m.workerdRssMiB.after} MiB`,
      met: ok ? 'met' : 'not met',
      ok,
    })
  }
  if (r.bundle) {
    const ok = r.bundle.gzipKiB <= SETTINGS.bundleTargetKiB
    rows.push({ what: 'Bundle size, gzipped (wrangler deploy --dry-run)', target: `≤ ${SETTINGS.bundleTargetKiB} KiB`, measured: `${r.bundle.gzipKiB} KiB (${r.bundle.totalKiB} KiB raw)`, met: ok ? 'met' : 'not met', ok })
  }
  return rows
}

function markdownTable(rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(['what', 'target', 'measured', 'met']), line(['---', '---', '---', '---']), ...rows.map((r) => line([r.what, r.target, r.measured, r.met]))].join('\n')
}

function printTable(rows) {
  const head = ['what', 'target', 'measured', 'met']
  const cells = rows.map((r) => [r.what, r.target, r.measured, r.met])
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)))
  const line = (c) => c.map((x, i) => x.padEnd(widths[i])).join('  ')
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${cells.map(line).join('\n')}\n`)
}

function readmeSection(results, rows) {
  const e = results.environment
  const s = results.settings
  return [
    '<!-- bench:start -->',
    `Measured by \`npm run bench\` on ${results.finishedAt.slice(0, 10)} (${e.cpus} × ${e.cpuModel}, Node ${e.node}, wrangler ${e.wrangler}),`,
    `locally in workerd (\`wrangler dev\`) against a loopback Sync upstream answering in ${s.upstreamLatencyMs} ms. Hit ratios: autocannon,`,
    `${s.connections} connections, ${s.rounds} alternated rounds of ${s.roundS} s against a bare Hono Worker answering the same body`,
    '(`bench/baseline/`), median of the per-round ratios. Full numbers: [`bench/results.json`](bench/results.json).',
    '',
    markdownTable(rows),
    '<!-- bench:end -->',
  ].join('\n')
}

/** Replaces the marked section of README.md (or appends it), reading and writing in one step. */
function updateReadme(section) {
  const path = join(ROOT, 'README.md')
  const text = readFileSync(path, 'utf8')
  const start = text.indexOf('<!-- bench:start -->')
  const end = text.indexOf('<!-- bench:end -->')
  const next =
    start >= 0 && end > start
      ? text.slice(0, start) + section + text.slice(end + '<!-- bench:end -->'.length)
      : `${text.replace(/\s*$/, '\n')}\n## Benchmark\n\n${section}\n`
  const tmpPath = `${path}.bench-${process.pid}`
  writeFileSync(tmpPath, next)
  renameSync(tmpPath, path)
}

function wranglerVersion() {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')).version
}

/** A [vars] value from the gateway's wrangler.toml (the freshness window the Zipf run must fit). */
function tomlVar(name) {
  const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, 'm').exec(readFileSync(gatewayConfig, 'utf8'))
  return m?.[1]
}

// ---------------------------------------------------------------------------------------------
// Main

let upstreamPort = 0

async function main() {
  const started = Date.now()
  const watchdog = setTimeout(() => {
    console.error(`bench: not finished within ${RUN_DEADLINE_MS / 60_000} min, stopping`)
    stopAll().finally(() => process.exit(1))
  }, RUN_DEADLINE_MS)
  watchdog.unref()

  const results = {
    schema: 1,
    startedAt: new Date(started).toISOString(),
    gatewayConfig: gatewayConfig.replace(`${ROOT}/`, ''),
    environment: {
      node: process.versions.node,
      wrangler: wranglerVersion(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown',
      platform: `${process.platform}-${process.arch}`,
    },
    settings: SETTINGS,
  }

  if (want('bundle')) {
    console.log('bundle: wrangler deploy --dry-run')
    results.bundle = bundleSection()
    console.log(`  ${results.bundle.gzipKiB} KiB gzipped`)
  }

  const needsServers = SECTIONS.filter((s) => s !== 'bundle').some(want)
  if (needsServers) {
    const server = await startUpstream(SETTINGS.upstreamLatencyMs)
    upstreamPort = server.address().port
    const hitId = benchId('hit', 0)
    const ports = async () => [await freePort(), await freePort()]
    const targets = {}
    const launch = async (name, vars, readyPath = '/healthz') => {
      const [port, inspector] = await ports()
      targets[name] = await startTarget(name, gatewayArgs(port, inspector, upstreamPort, vars), readyPath)
    }
    if (['hit', 'miss', 'zipf', 'coalesce'].some(want)) await launch('memory', {})
    if (['hit', 'zipf', 'coalesce'].some(want)) await launch('edge', { MEMORY_CACHE_MAX_ENTRIES: '0' })
    if (want('memory')) {
      const { maxBytes, maxEntries } = SETTINGS.memoryBound
      await launch('bounded', { MEMORY_CACHE_MAX_BYTES: String(maxBytes), MEMORY_CACHE_MAX_ENTRIES: String(maxEntries), MEMORY_TTL_S: '600' })
    }
    if (want('hit')) {
      const [port, inspector] = await ports()
      const args = [
        'dev', '--config', join(ROOT, 'bench', 'baseline', 'wrangler.toml'),
        '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
        '--persist-to', join(tmp, 'state-baseline'), '--log-level', 'warn', '--show-interactive-dev-session=false',
        '--var', `BENCH_BODY:${bodyOf(hitId)}`,
      ]
      targets.baseline = await startTarget('baseline', args, assetPath(hitId))
    }
    console.log(`servers: upstream 127.0.0.1:${upstreamPort} (${SETTINGS.upstreamLatencyMs} ms); wrangler dev: ${Object.values(targets).map((t) => `${t.name} :${t.port}`).join(', ')}`)
    await Promise.all(Object.values(targets).map(waitReady))
    console.log(`  ready after ${((Date.now() - started) / 1000).toFixed(0)} s`)

    if (want('hit')) {
      console.log(`hit: ${SETTINGS.rounds} rounds × ${SETTINGS.roundS} s × 3 targets, ${SETTINGS.connections} connections`)
      results.hit = await hitSection(targets.baseline, { memory: targets.memory, edge: targets.edge }, hitId)
      console.log(`  memory ${results.hit.memory.ratio}, Cache API ${results.hit.edge.ratio} of bare Hono`)
    }
    if (want('miss')) {
      console.log(`miss: ${SETTINGS.miss.samples} sequential cold lookups`)
      results.miss = await missSection(targets.memory)
      console.log(`  added p50 ${results.miss.addedMs.p50} ms, p99 ${results.miss.addedMs.p99} ms`)
    }
    const freshS = Number(tomlVar('CACHE_FRESH_READY_S') ?? 300)
    if (want('zipf')) {
      results.zipf = {}
      for (const key of ['memory', 'edge']) {
        console.log(`zipf (${key}): ${SETTINGS.zipf.lookups} lookups over ${SETTINGS.zipf.ids} ids, s=${SETTINGS.zipf.exponent}`)
        results.zipf[key] = await zipfSection(targets[key], key, freshS)
        console.log(`  ${results.zipf[key].upstreamCalls} upstream calls for ${results.zipf[key].distinctRequested} distinct ids in ${results.zipf[key].seconds} s`)
      }
    }
    if (want('coalesce')) {
      results.coalesce = {}
      for (const key of ['memory', 'edge']) {
        console.log(`coalesce (${key}): ${SETTINGS.coldConcurrent} concurrent cold lookups of one id`)
        results.coalesce[key] = await coalesceSection(targets[key], key)
        console.log(`  ${results.coalesce[key].upstreamCalls} upstream call(s)`)
      }
    }
    if (want('memory')) {
      console.log('memory: filling a 4 MiB memory tier past its bound')
      results.memory = await memorySection(targets.bounded)
      console.log(`  ${results.memory.after.bytes} of ${results.memory.after.maxBytes} bytes, ${results.memory.after.entries} entries`)
    }
    server.closeAllConnections()
    server.close()
    for (const t of Object.values(targets)) t.agent.destroy()
    await stopAll()
  }

  results.finishedAt = new Date().toISOString()
  results.durationS = round((Date.now() - started) / 1000, 1)
  const rows = targetRows(results)
  results.targets = rows.map(({ what, target, measured, met }) => ({ what, target, measured, met }))

  const out = partial ? join(ROOT, 'bench', 'results', `${results.finishedAt.replace(/[:.]/g, '-')}.tmp.json`) : join(ROOT, 'bench', 'results.json')
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`)
  printTable(rows)
  if (partial) console.log(`partial run: README.md left alone`)
  else updateReadme(readmeSection(results, rows))
  console.log(`results: ${out.replace(`${ROOT}/`, '')} (${results.durationS} s)`)
  clearTimeout(watchdog)
}

main().then(
  () => process.exit(0),
  async (err) => {
    console.error(`bench failed: ${err?.stack ?? err}`)
    for (const child of children) console.error(`--- ${child.label} (last lines of its log)\n${logTail(child)}`)
    await stopAll()
    process.exit(1)
  },
)
