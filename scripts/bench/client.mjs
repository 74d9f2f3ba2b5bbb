// The bench's HTTP client (node:http, keep-alive, 127.0.0.1 only) and small statistics helpers.
import http from 'node:http'
import { DEV_KEY } from './settings.mjs'

export const AUTH = { authorization: `Bearer ${DEV_KEY}` }
export const assetPath = (id) => `/sync/v2/assets/${id}`

/** One GET: status, headers, body, and the ms from sending to the last byte. */
export function get(agent, port, path, headers = {}) {
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
    req.setTimeout(20_000, () => req.destroy(new Error(`GET ${path}: no answer in 20 s`)))
    req.on('error', reject)
    req.end()
  })
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
export async function pool(items, concurrency, work) {
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      await work(items[i], i)
    }
  })
  await Promise.all(lanes)
}

/** Nearest-rank percentile. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export function median(values) {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x)

/** `Server-Timing` parts as { name: ms }. */
export function serverTiming(header) {
  const out = {}
  for (const part of String(header ?? '').split(',')) {
    const m = /^\s*([\w-]+);dur=([\d.]+)/.exec(part)
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}

/** What answered, from `Cache-Status`: `memory`, `edge`, `kv`, `fwd=miss`, `fwd=stale`, … */
export function cacheDetail(header) {
  const text = String(header ?? '')
  return /detail=([\w-]+)/.exec(text)?.[1] ?? /fwd=[\w-]+/.exec(text)?.[0] ?? 'none'
}

/** Counts of each distinct value. */
export function tally(values) {
  const out = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
