// The loopback upstream: Sync's `GET /v2/assets/{id}` on 127.0.0.1, answering every UUID after a
// fixed latency, counting calls per id and timing each answer (for the miss latency it adds).
import { createHash } from 'node:crypto'
import http from 'node:http'
import { UPSTREAM_KEY } from './settings.mjs'

/** A UUID (v4 layout) that is the same on every run: `label` names the set, `i` the member. */
export function benchId(label, i) {
  const h = createHash('sha256').update(`asset-edge-bench/${label}/${i}`).digest('hex')
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** One signing instant per run, so an id's body is byte-identical on every call. */
const AMZ_DATE = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d{3}/, '')

/** An S3 SigV4 presigned URL valid 3600 s from now: the gateway reads its expiry and caches the record. */
function s3Url(id, file) {
  const q = new URLSearchParams({
    'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    'X-Amz-Credential': `AKIABENCHEXAMPLE/${AMZ_DATE.slice(0, 8)}/us-east-1/s3/aws4_request`,
    'X-Amz-Date': AMZ_DATE,
    'X-Amz-Expires': '3600',
    'X-Amz-SignedHeaders': 'host',
    'X-Amz-Signature': createHash('sha256').update(`${id}/${file}/${AMZ_DATE}`).digest('hex'),
  })
  return `https://sync-prod-assets.s3.us-east-1.amazonaws.com/org_bench/${id}/${file}?${q}`
}

/** Sync's Asset as `GET /v2/assets/{id}` answers it (openapi/sync.yaml; the sandbox's `syncRecord`). */
function syncRecord(id) {
  return {
    id,
    createdAt: '2026-01-15T09:30:00Z',
    updatedAt: '2026-01-15T09:30:00Z',
    type: 'VIDEO',
    visibility: 'ORGANIZATION',
    name: `bench-${id.slice(0, 8)}.mp4`,
    url: s3Url(id, 'video.mp4'),
    size: 10_485_760,
    format: 'mp4',
    inputType: 'UPLOAD',
    durationSeconds: 30.5,
    thumbnailUrl: s3Url(id, 'thumb.jpg'),
    width: 1920,
    height: 1080,
  }
}

const bodies = new Map()
/** The exact body the upstream serves for `id`. */
export function bodyOf(id) {
  let body = bodies.get(id)
  if (!body) bodies.set(id, (body = JSON.stringify(syncRecord(id))))
  return body
}

/** Ids the upstream does not know: it answers them 404 as Sync does. */
const MISSING_PREFIX = '00000000-'
export const missingId = (i) => `${MISSING_PREFIX}0000-4000-8000-${String(i).padStart(12, '0')}`

/**
 * Upstream trouble on demand (`npm run load`): while `failRatio` > 0, that share of calls (drawn
 * from a seeded generator) fails, rotating through a 500, a 502, a 503 with `Retry-After` and a
 * connection reset.
 */
export const faults = {
  failRatio: 0,
  seed: 0x10ad,
  random() {
    // mulberry32: the same sequence of failures on every run
    let t = (this.seed = (this.seed + 0x6d2b79f5) | 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  },
}
const FAILURES = ['500', '502', '503', 'reset']

/** Calls answered per id, and per call the ms from request to last byte written. */
export const counters = {
  failed: 0,
  failedBy: {},
  calls: new Map(),
  serviceMs: new Map(),
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

const UUID_PATH = /^\/v2\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/

export function startUpstream(latencyMs) {
  const server = http.createServer((req, res) => {
    const start = performance.now()
    const answer = (status, body, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers })
      res.end(body)
    }
    const match = UUID_PATH.exec(req.url ?? '')
    if (req.method !== 'GET' || !match) return answer(404, JSON.stringify({ message: 'Not Found', statusCode: 404 }))
    if (req.headers['x-api-key'] !== UPSTREAM_KEY) return answer(401, JSON.stringify({ message: 'Unauthorized', statusCode: 401 }))
    const id = match[1]
    counters.calls.set(id, (counters.calls.get(id) ?? 0) + 1)
    const failure = faults.failRatio > 0 && faults.random() < faults.failRatio ? FAILURES[counters.failed % FAILURES.length] : undefined
    if (failure) {
      counters.failed += 1
      counters.failedBy[failure] = (counters.failedBy[failure] ?? 0) + 1
    }
    setTimeout(() => {
      if (failure === 'reset') return req.socket.destroy()
      if (failure) {
        const status = Number(failure)
        return answer(status, JSON.stringify({ message: 'Upstream trouble (load test)', statusCode: status }), status === 503 ? { 'retry-after': '1' } : {})
      }
      if (id.startsWith(MISSING_PREFIX)) return answer(404, JSON.stringify({ message: 'Asset not found', statusCode: 404 }))
      res.on('finish', () => {
        const list = counters.serviceMs.get(id) ?? []
        list.push(performance.now() - start)
        counters.serviceMs.set(id, list)
      })
      answer(200, bodyOf(id))
    }, latencyMs)
  })
  server.keepAliveTimeout = 120_000
  return new Promise((resolveServer) => server.listen(0, '127.0.0.1', () => resolveServer(server)))
}
