// The Workers under test, each its own `wrangler dev` on 127.0.0.1 with its own persisted state.
import { readFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { AUTH, get } from './client.mjs'
import { freePort, logTail, sleep, startWrangler, tmpDir } from './processes.mjs'
import { DEV_KEY, READY_DEADLINE_MS, ROOT, UPSTREAM_KEY } from './settings.mjs'

async function devArgs(config, vars, script = []) {
  const [port, inspectorPort] = [await freePort(), await freePort()]
  const args = [
    'dev',
    ...script,
    '--config',
    config,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspectorPort),
    '--persist-to',
    join(tmpDir(), `state-${port}`),
    // Request lines off in every target: each costs Miniflare a loopback call per request.
    '--log-level',
    'warn',
    '--show-interactive-dev-session=false',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ]
  return { port, inspectorPort, args }
}

function start(name, { port, inspectorPort, args }, readyPath) {
  const child = startWrangler(name, args)
  return { name, child, port, inspectorPort, readyPath, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) }
}

/**
 * The Worker isolate's own V8 heap (bytes in use), through the DevTools protocol on wrangler dev's
 * inspector port: what the Worker's code holds, without workerd's and Miniflare's own memory that
 * the process RSS also counts. It includes garbage not yet collected: wrangler's inspector proxy
 * stopped answering `HeapProfiler.collectGarbage` once the Worker had served load.
 */
export async function isolateHeapBytes(target) {
  const [{ webSocketDebuggerUrl }] = await (await fetch(`http://127.0.0.1:${target.inspectorPort}/json`)).json()
  // wrangler's inspector proxy accepts DevTools' origin only.
  const ws = new WebSocket(webSocketDebuggerUrl, { headers: { origin: 'https://devtools.devprod.cloudflare.dev' } })
  await new Promise((resolveOpen, reject) => {
    ws.addEventListener('open', resolveOpen)
    ws.addEventListener('error', () => reject(new Error(`${target.name}: the inspector refused the connection`)))
  })
  let id = 0
  const send = (method) =>
    new Promise((resolveCall, reject) => {
      const mine = ++id
      const timer = setTimeout(() => reject(new Error(`${target.name}: no answer to ${method}`)), 10_000)
      ws.addEventListener('message', function onMessage(event) {
        const message = JSON.parse(String(event.data))
        if (message.id !== mine) return
        ws.removeEventListener('message', onMessage)
        clearTimeout(timer)
        resolveCall(message.result)
      })
      ws.send(JSON.stringify({ id: mine, method }))
    })
  try {
    return (await send('Runtime.getHeapUsage')).usedSize
  } finally {
    ws.close()
  }
}

/**
 * The gateway (`config`) on its development entry (the dev key), its Sync provider pointed at the
 * loopback upstream. `flags`: more wrangler dev flags (the profiler's `--minify=false`).
 */
export async function startGateway(name, config, upstreamPort, vars = {}, flags = []) {
  const all = { DEV_GATEWAY_KEY: DEV_KEY, SYNC_BASE_URL: `http://127.0.0.1:${upstreamPort}`, SYNC_API_KEY: UPSTREAM_KEY, ...vars }
  return start(name, await devArgs(config, all, [join(ROOT, 'src', 'dev.ts'), ...flags]), '/healthz')
}

/**
 * The bare Hono Worker (bench/baseline), answering `body`; its bare proxy route forwards to the
 * upstream on `upstreamPort`. `config`: wrangler.toml (behind the gateway's static-assets routing)
 * or wrangler.plain.toml (without it).
 */
export async function startBaseline(name, body, readyPath, upstreamPort, config = 'wrangler.toml') {
  const vars = { BENCH_BODY: body, UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, UPSTREAM_KEY }
  return start(name, await devArgs(join(ROOT, 'bench', 'baseline', config), vars), readyPath)
}

/** The `run_worker_first` list of a wrangler.toml, as written (undefined when it has none). */
export function runWorkerFirst(config) {
  return /^\s*run_worker_first\s*=\s*(.+)$/m.exec(readFileSync(config, 'utf8'))?.[1]?.trim()
}

/** Fails unless the bench's yardsticks sit behind the same static-assets routing as the gateway `config`. */
export function checkSameRouting(config) {
  const want = runWorkerFirst(config)
  for (const other of [join(ROOT, 'bench', 'baseline', 'wrangler.toml'), join(ROOT, 'bench', 'peer-unkey', 'wrangler.toml')]) {
    const got = runWorkerFirst(other)
    if (got !== want)
      throw new Error(
        `${other} routes ${got ?? 'without run_worker_first'}, the gateway ${want ?? 'without run_worker_first'}: the hit ratios would compare different routing`,
      )
  }
}

/** The `@unkey/cache` peer (bench/peer-unkey): the same route behind the development key, loading misses from the upstream. */
export async function startPeer(name, upstreamPort, readyPath) {
  const vars = { PEER_TOKEN: DEV_KEY, UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`, UPSTREAM_KEY }
  return start(name, await devArgs(join(ROOT, 'bench', 'peer-unkey', 'wrangler.toml'), vars), readyPath)
}

/** Resolves once `target` answers its ready path with 200; fails if wrangler exits or takes too long. */
export async function waitReady(target) {
  const deadline = Date.now() + READY_DEADLINE_MS
  let exited = false
  target.child.exited.then(() => (exited = true))
  for (;;) {
    if (exited) throw new Error(`${target.name} exited before it was ready:\n${logTail(target.child)}`)
    try {
      if ((await get(target.agent, target.port, target.readyPath, AUTH)).status === 200) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${target.name} not ready within ${READY_DEADLINE_MS / 1000} s:\n${logTail(target.child)}`)
    await sleep(250)
  }
}
