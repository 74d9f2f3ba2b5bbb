// What both browser tests need before Chromium: a free port and `npm run dev` answering on it.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** How long a cold `npm run dev` may take to answer: most of a minute on a busy 2-core machine. */
export const STARTUP_MS = 120_000

/** A port nothing listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts `npm run dev -- --port <port> …extraArgs` with a state directory of its own (KV entries of
 * another run hold sandbox URLs on that run's port), and resolves to its origin once `/healthz` says
 * the sandbox is served. Pushes its own cleanups (stop the process group, remove the state).
 * `log.text` collects what the server printed, for a failure report.
 */
export async function startDev(port, { cleanups, log, extraArgs = [] }) {
  const state = mkdtempSync(join(tmpdir(), 'asset-edge-dev-state-'))
  cleanups.push(() => rmSync(state, { recursive: true, force: true }))
  const child = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--persist-to', state, ...extraArgs], {
    detached: true, // its own process group, so npm, wrangler and workerd stop together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1' },
  })
  child.stdout.on('data', (d) => (log.text += d))
  child.stderr.on('data', (d) => (log.text += d))
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

/**
 * Runs a browser test's `main` within `deadlineMs`: a failure prints its message and the tail of
 * the dev server's log, and `cleanups` always run, last pushed first. Resolves to whether `main`
 * passed; past the deadline it cleans up, calls `onDeadline` and exits 1.
 */
export async function runBrowserTest(main, { name, cleanups, log, deadlineMs, onDeadline = () => {} }) {
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch {}
    }
  }
  const deadline = setTimeout(async () => {
    console.log(`  FAIL ${name} ran past ${deadlineMs} ms`)
    if (log.text) console.log(log.text.slice(-3000))
    await cleanup()
    onDeadline()
    process.exit(1)
  }, deadlineMs)
  try {
    await main()
    return true
  } catch (err) {
    console.log(`  FAIL ${err.message}`)
    if (log.text) console.log(log.text.slice(-3000))
    return false
  } finally {
    await cleanup()
    clearTimeout(deadline)
  }
}
