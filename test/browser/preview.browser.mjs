#!/usr/bin/env node
// `npm run test:browser`: signed links in a real browser. Starts `npm run dev` on a free port,
// mints links through POST /links, and has headless Chromium (Debian's `chromium`, driven by
// playwright-core) open a page on another origin with `<img src=link>`:
//   1. a fresh link shows the sandbox image (naturalWidth > 0, the link answered 302);
//   2. an expired link shows nothing (naturalWidth 0, the link answered 410).
// The dev server runs with LINK_CLOCK_SKEW_S=0 so the expired case waits ~2 s instead of 30, and
// with a fresh state directory. Chromium blocks the 410's problem+json body for an <img> (ORB),
// so the browser reports no status for it; the status is then checked from Node.
// Stops everything it started, exits non-zero on any failure, and never runs past DEADLINE_MS.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium } from 'playwright-core'

const DEADLINE_MS = 85_000
const STARTUP_MS = 120_000 // a cold wrangler dev on a busy 2-core machine can take most of a minute
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const DEV_KEY = 'ae_dev_sandbox_key' // scripts/dev.mjs
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const results = []
const cleanups = []
let devLog = ''

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function startDev(port) {
  // Its own state directory: KV entries of another dev run hold sandbox URLs on that run's port.
  const state = mkdtempSync(join(tmpdir(), 'asset-edge-dev-state-'))
  cleanups.push(() => rmSync(state, { recursive: true, force: true }))
  const args = ['run', 'dev', '--', '--port', String(port), '--persist-to', state, '--var', 'LINK_CLOCK_SKEW_S:0']
  const child = spawn('npm', args, {
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
      if (health.ok && (await health.json()).sandbox === true) return base
    } catch {}
    await sleep(250)
  }
  throw new Error(`npm run dev did not answer /healthz within ${STARTUP_MS} ms`)
}

async function mint(base, ttl_s) {
  const response = await fetch(`${base}/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${DEV_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'gumnut', asset_id: 'asset_sandbox_image', variant: 'original', ttl_s }),
  })
  const body = await response.json()
  if (response.status !== 201) throw new Error(`POST /links answered ${response.status}: ${JSON.stringify(body)}`)
  return body
}

/** A page on its own origin that embeds `?src=` as an image, as a customer's site would. */
async function startPageServer() {
  const server = createHttpServer((req, res) => {
    const src = new URL(req.url, 'http://page').searchParams.get('src') ?? ''
    const attr = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><title>preview</title><img id="preview" alt="preview" src="${attr}">`)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${server.address().port}/`
}

/** Opens the page embedding `link`; answers the image's naturalWidth and the link's HTTP status. */
async function show(context, pageUrl, link) {
  const page = await context.newPage()
  try {
    let linkStatus
    page.on('response', (response) => {
      if (response.url() === link) linkStatus = response.status()
    })
    await page.goto(`${pageUrl}?src=${encodeURIComponent(link)}`, { waitUntil: 'load', timeout: 15_000 })
    await page.waitForFunction(() => document.getElementById('preview').complete, null, { timeout: 10_000 })
    const naturalWidth = await page.$eval('#preview', (img) => img.naturalWidth)
    return { naturalWidth, linkStatus }
  } finally {
    await page.close()
  }
}

async function check(name, fn) {
  try {
    await fn()
    results.push(true)
    console.log(`  ok   ${name}`)
  } catch (err) {
    results.push(false)
    console.log(`  FAIL ${name}: ${err.message}`)
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message)
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  const base = await startDev(await freePort())
  const pageUrl = await startPageServer()
  const profile = mkdtempSync(join(tmpdir(), 'asset-edge-chromium-'))
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }))
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  cleanups.push(() => context.close())
  console.log(`browser: ${context.browser()?.version() ?? 'chromium'} against ${base}`)

  await check('a fresh link shows the sandbox image', async () => {
    const { url } = await mint(base, 60)
    const { naturalWidth, linkStatus } = await show(context, pageUrl, url)
    expect(linkStatus === 302, `the link answered ${linkStatus}, not 302`)
    expect(naturalWidth > 0, `naturalWidth is ${naturalWidth}`)
  })

  await check('an expired link shows no image', async () => {
    const { url, expires_at } = await mint(base, 1)
    await sleep(Math.max(0, Date.parse(expires_at) - Date.now()) + 1500)
    const { naturalWidth, linkStatus } = await show(context, pageUrl, url)
    expect(naturalWidth === 0, `naturalWidth is ${naturalWidth}`)
    const status = linkStatus ?? (await fetch(url, { redirect: 'manual' })).status
    expect(status === 410, `the link answered ${status}, not 410`)
  })
}

async function cleanup() {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch {}
  }
}

function report() {
  const passed = results.filter(Boolean).length
  const failed = results.length - passed
  console.log(`browser: ${passed} passed, ${failed} failed`)
  return failed === 0 && results.length === 2
}

const deadline = setTimeout(async () => {
  console.log(`  FAIL the browser test ran past ${DEADLINE_MS} ms`)
  if (devLog) console.log(devLog.slice(-3000))
  await cleanup()
  results.push(false)
  report()
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
if (!ok && results.length < 2) results.push(...Array(2 - results.length).fill(false))
process.exit(report() && ok ? 0 : 1)
