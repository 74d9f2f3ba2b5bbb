#!/usr/bin/env node
// `npm run test:browser` (second part): the API reference renders with no network. Starts
// `npm run dev` on a free port, opens /docs in headless Chromium (Debian's `chromium`, driven by
// playwright-core) with every request to a host other than localhost aborted, and checks that:
//   1. the page shows the four lookup operations (their summaries, from /openapi.json);
//   2. no request left localhost (the viewer is served from the gateway, not a CDN), and the CSP
//      of the page allows only its own origin.
// Stops everything it started, exits non-zero on any failure, and never runs past DEADLINE_MS.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium } from 'playwright-core'

const DEADLINE_MS = 110_000
const STARTUP_MS = 60_000
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const LOOKUPS = ['Get a Spotify Ads asset', 'Get a Sync asset', 'Get a Gumnut asset', 'Get a Frame.io asset']
const cleanups = []
let devLog = ''

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

async function startDev(port) {
  const state = mkdtempSync(join(tmpdir(), 'asset-edge-dev-state-'))
  cleanups.push(() => rmSync(state, { recursive: true, force: true }))
  const child = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--persist-to', state], {
    detached: true, // its own process group, so npm, wrangler and workerd stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
  })
  child.stdout.on('data', (d) => (devLog += d))
  child.stderr.on('data', (d) => (devLog += d))
  let exited = false
  child.on('exit', () => (exited = true))
  cleanups.push(async () => {
    if (exited) return
    try {
      process.kill(-child.pid, 'SIGTERM')
    } catch {
      return
    }
    for (let i = 0; i < 50 && !exited; i += 1) await sleep(100)
    if (!exited) {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }
  })
  const base = `http://localhost:${port}`
  const until = Date.now() + STARTUP_MS
  while (Date.now() < until) {
    if (exited) throw new Error('npm run dev exited before it answered /healthz')
    try {
      const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) })
      if (health.ok) return base
    } catch {}
    await sleep(250)
  }
  throw new Error(`npm run dev did not answer /healthz within ${STARTUP_MS} ms`)
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  const base = await startDev(await freePort())
  const profile = mkdtempSync(join(tmpdir(), 'asset-edge-chromium-'))
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  cleanups.push(() => context.close())
  // The network is cut off: every request to a host other than localhost is aborted.
  const blocked = []
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url())
    if (hostname === 'localhost' || hostname === '127.0.0.1') return route.continue()
    blocked.push(route.request().url())
    return route.abort('internetdisconnected')
  })
  const page = await context.newPage()
  const response = await page.goto(`${base}/docs`, { waitUntil: 'load', timeout: 30_000 })
  const csp = response?.headers()['content-security-policy'] ?? ''
  if (!/default-src 'self'/.test(csp) || /https?:/.test(csp)) throw new Error(`/docs has no self-only CSP: ${csp || '(none)'}`)
  // Every tag is open (static/docs/init.js), so the page lists each operation by its summary.
  // biome-ignore lint/performance/useDomNodeTextContent: what the page shows, not hidden text
  await page.waitForFunction((names) => names.every((name) => document.body.innerText.includes(name)), LOOKUPS, { timeout: 30_000 }).catch(() => {})
  // biome-ignore lint/performance/useDomNodeTextContent: what the page shows, not hidden text
  const text = await page.evaluate(() => document.body.innerText)
  for (const summary of LOOKUPS) {
    if (!text.includes(summary)) throw new Error(`/docs does not show "${summary}"`)
    console.log(`  ok   /docs shows "${summary}"`)
  }
  if (blocked.length) throw new Error(`the page asked for other hosts: ${[...new Set(blocked)].slice(0, 5).join(', ')}`)
  console.log('  ok   no request left localhost')
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch {}
  }
}

const deadline = setTimeout(async () => {
  console.log(`  FAIL the docs browser test ran past ${DEADLINE_MS} ms`)
  await cleanup()
  process.exit(1)
}, DEADLINE_MS)

let ok = false
try {
  await main()
  ok = true
} catch (err) {
  console.log(`  FAIL ${err.message}`)
  if (devLog) console.log(devLog.slice(-3000))
} finally {
  await cleanup()
  clearTimeout(deadline)
}
console.log(`docs browser test: ${ok ? 'passed' : 'failed'}`)
process.exit(ok ? 0 : 1)
