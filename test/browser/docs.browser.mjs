#!/usr/bin/env node
// `npm run test:browser` (second part): the API reference renders with no network. Starts
// `npm run dev` on a free port, opens /docs in headless Chromium (Debian's `chromium`, driven by
// playwright-core) with every request to a host other than localhost aborted, and checks that:
//   1. the page shows the four lookup operations (their summaries, from /openapi.json);
//   2. no request left localhost (the viewer is served from the gateway, not a CDN), and the CSP
//      of the page allows only its own origin.
// Stops everything it started, exits non-zero on any failure, and never runs past DEADLINE_MS.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { freePort, runBrowserTest, startDev } from './dev-server.mjs'

const DEADLINE_MS = 180_000 // past STARTUP_MS, with a minute for the browser
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const LOOKUPS = ['Get a Spotify Ads asset', 'Get a Sync asset', 'Get a Gumnut asset', 'Get a Frame.io asset']
const cleanups = []
const devLog = { text: '' }

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set CHROMIUM_PATH)`)
  const base = await startDev(await freePort(), { cleanups, log: devLog })
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

const ok = await runBrowserTest(main, { name: 'the docs browser test', cleanups, log: devLog, deadlineMs: DEADLINE_MS })
console.log(`docs browser test: ${ok ? 'passed' : 'failed'}`)
process.exit(ok ? 0 : 1)
