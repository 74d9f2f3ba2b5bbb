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
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { chromium } from 'playwright-core'
import { freePort, runBrowserTest, startDev } from './dev-server.mjs'

const DEADLINE_MS = 180_000 // past STARTUP_MS, with a minute for the browser
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
const devLog = { text: '' }

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
  const base = await startDev(await freePort(), { cleanups, log: devLog, extraArgs: ['--var', 'LINK_CLOCK_SKEW_S:0'] })
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

function report() {
  const passed = results.filter(Boolean).length
  const failed = results.length - passed
  console.log(`browser: ${passed} passed, ${failed} failed`)
  return failed === 0 && results.length === 2
}

const ok = await runBrowserTest(main, {
  name: 'the browser test',
  cleanups,
  log: devLog,
  deadlineMs: DEADLINE_MS,
  onDeadline: () => {
    results.push(false)
    report()
  },
})
if (!ok && results.length < 2) results.push(...Array(2 - results.length).fill(false))
process.exit(report() && ok ? 0 : 1)
