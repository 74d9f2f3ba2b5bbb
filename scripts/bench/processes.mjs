// Child processes of the bench: every wrangler in its own process group, every group stopped on
// every way out (success, failure, signal, deadline); and what /proc says about them.
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { ROOT, WRANGLER } from './settings.mjs'

let tmp
/** The run's temp dir (wrangler logs, persisted state, the dry-run bundle), made on first use. */
export function tmpDir() {
  tmp ??= mkdtempSync(join(os.tmpdir(), 'asset-edge-bench-'))
  return tmp
}

/**
 * Loopback only: no telemetry, no download of the Request.cf object, Node 22 from node_modules. And
 * no local trace store: wrangler 4.164 records every request's spans and console output in SQLite
 * for its local explorer (`X_LOCAL_OBSERVABILITY`, on by default), which took 11% of the Worker
 * process's CPU time in a `perf` profile of the bare Worker under load, and more for a Worker that
 * logs. Production keeps no such store on the request's thread; every Worker the bench starts runs
 * without it alike (`npm run dev` keeps wrangler's default).
 */
export const childEnv = {
  ...process.env,
  PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  X_LOCAL_OBSERVABILITY: 'false',
  NO_COLOR: '1',
  FORCE_COLOR: '0',
}

const groups = new Set() // every process group started; wrangler leads it, workerd and esbuild join it
export const started = [] // every wrangler started, for log tails on failure

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** One /proc/<pid>/stat, split after the command name (field 3 onwards). */
function statFields(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), f: stat.slice(stat.lastIndexOf(')') + 2).split(' ') }
}

export function processTable() {
  const table = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const { comm, f } = statFields(entry)
      table.push({ pid: Number(entry), comm, state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), cpuTicks: Number(f[11]) + Number(f[12]) })
    } catch {
      // gone
    }
  }
  return table
}

/** Every process below `pid`. */
export function descendants(pid, table = processTable()) {
  const out = []
  const queue = [pid]
  while (queue.length) {
    const p = queue.shift()
    for (const row of table) {
      if (row.ppid === p) {
        out.push(row)
        queue.push(row.pid)
      }
    }
  }
  return out
}

const groupAlive = (pgid) => processTable().some((p) => p.pgid === pgid && p.state !== 'Z')

function killGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal)
  } catch {
    // already gone
  }
}

/** SIGTERM every group, wait up to 5 s for all their members (not just the leader), then SIGKILL. */
export async function stopAll() {
  for (const pgid of groups) killGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + 5000
  while (Date.now() < deadline && [...groups].some(groupAlive)) await sleep(100)
  for (const pgid of groups) {
    if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL')
    groups.delete(pgid)
  }
}

/** Kills what is left however the process ends; a signal stops everything first. */
export function installCleanup() {
  process.on('exit', () => {
    for (const pgid of groups) if (groupAlive(pgid)) killGroup(pgid, 'SIGKILL')
    if (tmp && !process.env.BENCH_KEEP_TMP) rmSync(tmp, { recursive: true, force: true })
  })
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping`)
      stopAll().finally(() => process.exit(130))
    })
  }
}

/** `wrangler …` in its own process group, its output in a log file under the run's temp dir. */
export function startWrangler(name, args) {
  const logPath = join(tmpDir(), `${name}.log`)
  const fd = openSync(logPath, 'w')
  const child = spawn(WRANGLER, args, { cwd: ROOT, env: childEnv, detached: true, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  groups.add(child.pid)
  child.exited = new Promise((r) => child.on('exit', r))
  child.logPath = logPath
  child.label = name
  started.push(child)
  return child
}

export function logTail(child, lines = 30) {
  try {
    return readFileSync(child.logPath, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

export function freePort() {
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

/**
 * VmRSS (KiB) of the workerd processes under one wrangler: `user` runs the Worker (with
 * Miniflare's local Cache API and KV), `proxy` is wrangler dev's front process.
 */
export function workerdRssKiB(child) {
  const out = { totalKiB: 0, userKiB: 0, proxyKiB: 0, processes: 0 }
  for (const p of descendants(child.pid).filter((d) => d.comm === 'workerd')) {
    try {
      const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'))?.[1] ?? 0)
      const user = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('--inspector-addr')
      out.totalKiB += kib
      out[user ? 'userKiB' : 'proxyKiB'] += kib
      out.processes += 1
    } catch {
      // gone
    }
  }
  return out
}

export const USER_HZ = 100 // clock ticks per second in /proc (Linux)

/**
 * CPU time (ms, user + system) used so far by one wrangler and everything below it (both
 * workerd processes: wrangler dev's front and the Worker's). Counts only work done for the
 * target, so other load on a shared machine moves it much less than it moves requests/s.
 */
export function treeCpuMs(child) {
  const table = processTable()
  const self = table.find((p) => p.pid === child.pid)
  const ticks = [self, ...descendants(child.pid, table)].reduce((sum, p) => sum + (p?.cpuTicks ?? 0), 0)
  return (ticks * 1000) / USER_HZ
}

/** Machine-wide busy ticks and the ticks of this process and everything below it. */
export function cpuSnapshot() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const table = processTable()
  const mine = [process.pid, ...descendants(process.pid, table).map((d) => d.pid)]
  const ticks = table.filter((p) => mine.includes(p.pid)).reduce((sum, p) => sum + p.cpuTicks, 0)
  return { at: performance.now(), busy: user + nice + system + irq + softirq + steal, mine: ticks }
}

/** Share of the machine (0–1) that processes other than the bench's used between two snapshots. */
export function foreignCpuShare(a, b) {
  const available = ((b.at - a.at) / 1000) * USER_HZ * os.cpus().length
  return Math.max(0, Math.min(1, (b.busy - a.busy - (b.mine - a.mine)) / available))
}

/** What the numbers were measured on, for the results file and the docs/benchmarks.md line above its table. */
export function environmentFacts() {
  return {
    node: process.versions.node,
    wrangler: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'wrangler', 'package.json'), 'utf8')).version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown',
    platform: `${process.platform}-${process.arch}`,
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    localTraceStore: childEnv.X_LOCAL_OBSERVABILITY !== 'false',
  }
}

/**
 * Runs a measuring script's `main`: every child stopped however it ends, the whole run stopped and
 * failed past `deadlineMs`, exit 0 on success, and on failure the error with each wrangler's log tail.
 */
export function runScript(name, main, deadlineMs) {
  installCleanup()
  setTimeout(() => {
    console.error(`${name}: not finished within ${deadlineMs / 60_000} min, stopping`)
    stopAll().finally(() => process.exit(1))
  }, deadlineMs).unref()
  main().then(
    () => process.exit(0),
    async (err) => {
      console.error(`${name} failed: ${err?.stack ?? err}`)
      for (const child of started) console.error(`--- ${child.label}: last lines of its log\n${logTail(child)}`)
      await stopAll()
      process.exit(1)
    },
  )
}
