#!/usr/bin/env node
// `npm run keys -- <command>`: create, list and revoke gateway keys. Keys live in the ASSET_KV
// namespace only as SHA-256 digests (`gwkey:<hex>`, see src/http/auth.ts); a key is shown once, at
// creation. Local dev storage (.wrangler/state, what `npm run dev` reads) by default, through one
// Miniflare session (wrangler's own, as `wrangler kv key --local` opens it); the deployed namespace
// with --remote, through `wrangler kv key …`.
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const BIN = join(ROOT, 'node_modules', '.bin')
const WRANGLER = join(BIN, process.platform === 'win32' ? 'wrangler.cmd' : 'wrangler')
const BINDING = 'ASSET_KV'
const KEY_PREFIX = 'gwkey:' // keep in step with KEY_PREFIX in src/http/auth.ts
/** The providers' names, from src/providers/catalog.ts; loaded only by `create` and --help (Node's
 *  type stripping costs about 0.4 s), while workerd starts. */
const providerNames = async () => (await import('../src/providers/catalog.ts')).CATALOG.map((p) => p.name)
const ID_LENGTH = 12 // hex characters of the digest used as a key's id
const GET_CONCURRENCY = 4

const usage = (providers) => `Usage: npm run keys -- <command> [flags]

Manage asset-edge gateway keys. Keys are stored only as SHA-256 digests in the ASSET_KV
namespace; a new key is printed once and cannot be shown again.

Commands:
  create --name <name> [--providers <list>] [--links] [--admin] [--events]
                         Create a key. --providers is a comma-separated list of
                         ${providers.join(', ')}, or * for all (default *).
                         --links, --admin and --events grant those capabilities
                         (--events: manage webhook subscriptions, docs/events.md).
  list                   List keys: id, name, scopes, creation time.
  revoke <id>            Delete the key whose id (digest prefix, from list) matches.

Flags:
  --remote               Use the deployed namespace instead of local dev storage
                         (.wrangler/state, what \`npm run dev\` reads).
  --persist-to <dir>     Local storage folder, as given to
                         \`npm run dev -- --persist-to <dir>\` (default .wrangler/state).
  -h, --help             Show this help.

Examples:
  npm run keys -- create --name "ci smoke test" --providers gumnut,sync
  npm run keys -- list --remote
  npm run keys -- revoke 3f9a1c0b7e21 --remote`

class CliError extends Error {}
const fail = (message) => {
  throw new CliError(message)
}

// ---------------------------------------------------------------------------------------------
// Storage: one session per command. Locally, the dev KV (.wrangler/state, what `npm run dev` reads)
// in one workerd started once by wrangler's own Miniflare, configured as `wrangler kv key --local`
// configures it (no wrangler import, no Worker build: about 1.5 s); remotely, `wrangler kv key …`.
// A key's record is stored both as the value (what the gateway reads) and as the entry's metadata,
// so `list` is one call.

const stripAnsi = (s) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '')

/** The one line of wrangler's output that says what went wrong. */
function wranglerError(stdout, stderr) {
  const text = stripAnsi(`${stderr}\n${stdout}`)
  const error = /\[ERROR\]\s*(.+)/.exec(text)
  if (error) return error[1].trim()
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(⛅️|─|🪵)/.test(l))
  return lines.at(-1) ?? 'no output'
}

/** Runs `wrangler kv key <args> --binding ASSET_KV --remote`; resolves to its stdout. */
function wranglerKv(args) {
  if (!existsSync(WRANGLER)) fail(`wrangler not found at ${WRANGLER}; run npm install first`)
  const full = ['kv', 'key', ...args, '--binding', BINDING, '--remote']
  return new Promise((resolve, reject) => {
    // node_modules/.bin first on PATH: wrangler's `#!/usr/bin/env node` then finds the project's node.
    const env = { ...process.env, PATH: [BIN, process.env.PATH].filter(Boolean).join(delimiter), NO_COLOR: '1' }
    const child = spawn(WRANGLER, full, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', (e) => reject(new CliError(`could not run wrangler: ${e.message}`)))
    child.on('close', (code) => {
      if (code === 0) return resolve(stdout)
      reject(new CliError(`wrangler kv key ${args[0]} (deployed ${BINDING}) failed: ${wranglerError(stdout, stderr)}`))
    })
  })
}

/** The deployed namespace, through wrangler (one process per call; `list` is one call). */
function remoteStore() {
  return {
    where: 'the deployed',
    async list(prefix) {
      const out = await wranglerKv(['list', '--prefix', prefix])
      try {
        return JSON.parse(out).map((e) => ({ name: e.name, metadata: e.metadata ?? null }))
      } catch {
        fail(`could not parse the output of wrangler kv key list: ${stripAnsi(out).trim().slice(0, 200)}`)
      }
    },
    async get(name) {
      return wranglerKv(['get', name, '--text']).catch(() => null)
    },
    put: (name, value, metadata) => wranglerKv(['put', name, value, '--metadata', JSON.stringify(metadata)]),
    delete: (name) => wranglerKv(['delete', name]),
    close: async () => {},
  }
}

/** wrangler.toml's text ('' when unreadable). */
function wranglerToml() {
  try {
    return readFileSync(join(ROOT, 'wrangler.toml'), 'utf8')
  } catch {
    return ''
  }
}

/**
 * The id `wrangler dev` stores ASSET_KV under locally: the binding's `id` in wrangler.toml, else
 * the binding name (wrangler's kvNamespaceEntry). test/node/keys-cli.node.test.ts checks it against
 * wrangler's own reading of the config.
 */
function localNamespaceId() {
  for (const table of wranglerToml()
    .split(/^\s*\[\[kv_namespaces\]\]\s*$/m)
    .slice(1)) {
    const body = table.split(/^\s*\[/m)[0]
    if (new RegExp(`^\\s*binding\\s*=\\s*["']${BINDING}["']`, 'm').test(body)) return /^\s*id\s*=\s*["']([^"']+)["']/m.exec(body)?.[1] ?? BINDING
  }
  return BINDING
}

/**
 * wrangler's own Miniflare (resolved from wrangler's folder, so it is the version `wrangler dev`
 * runs and writes the same storage format, whatever else node_modules holds).
 */
async function wranglerMiniflare() {
  let wrangler
  try {
    wrangler = fileURLToPath(import.meta.resolve('wrangler'))
  } catch {
    fail('wrangler is not installed; run npm install first')
  }
  // require, not import: Node then skips scanning the 6 MB CommonJS bundle for named exports (0.7 s).
  const require = createRequire(wrangler)
  return require(require.resolve('miniflare'))
}

/**
 * The Worker that holds the KV binding: one JSON request per KV call, through Miniflare's
 * dispatchFetch (about 0.2 s sooner than getKVNamespace, which first sets up a binding proxy).
 */
const KV_WORKER = `export default {
  async fetch(request, env) {
    try {
      const { op, name, value, options } = await request.json()
      if (op === 'list') return Response.json(await env.KV.list(options))
      if (op === 'get') return Response.json(await env.KV.get(name))
      if (op === 'put') return Response.json(await env.KV.put(name, value, options) ?? null)
      if (op === 'delete') return Response.json(await env.KV.delete(name) ?? null)
      return Response.json({ error: 'unknown operation ' + op }, { status: 400 })
    } catch (e) {
      return Response.json({ error: String(e?.message ?? e) }, { status: 500 })
    }
  },
}`

/**
 * The local dev namespace, in one workerd session for the whole command. `persistTo` is
 * `wrangler dev --persist-to`'s folder (default .wrangler/state next to wrangler.toml); the KV
 * data is under its v3/kv, as wrangler dev keeps it.
 */
async function localStore(persistTo) {
  const { Miniflare, convertV4MiniflareOptions } = await wranglerMiniflare()
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: KV_WORKER,
      resourcePersistencePath: join(persistTo ? resolve(persistTo) : join(ROOT, '.wrangler', 'state'), 'v3'),
      kvNamespaces: { KV: localNamespaceId() },
    }),
  )
  try {
    await mf.ready
  } catch (e) {
    await mf.dispose().catch(() => {})
    fail(`could not start workerd for local storage: ${e?.message ?? e}`)
  }
  const call = async (op, args) => {
    const response = await mf.dispatchFetch('http://keys.local/', { method: 'POST', body: JSON.stringify({ op, ...args }) })
    const body = await response.json().catch(() => ({ error: `HTTP ${response.status}` }))
    if (!response.ok) fail(`local ${BINDING} ${op} failed: ${body?.error}`)
    return body
  }
  return {
    where: 'local dev',
    async list(prefix) {
      const entries = []
      let cursor
      do {
        const page = await call('list', { options: { prefix, cursor } })
        entries.push(...page.keys.map((k) => ({ name: k.name, metadata: k.metadata ?? null })))
        cursor = page.list_complete ? undefined : page.cursor
      } while (cursor)
      return entries
    },
    get: (name) => call('get', { name }),
    put: (name, value, metadata) => call('put', { name, value, options: { metadata } }),
    delete: (name) => call('delete', { name }),
    close: () => mf.dispose(),
  }
}

/** Says what it is doing on stderr when `work` takes longer than a second. */
async function withProgress(label, work) {
  const timer = setTimeout(() => process.stderr.write(`keys: ${label}…\n`), 1000)
  try {
    return await work
  } finally {
    clearTimeout(timer)
  }
}

/** Every stored key: digest and, when stored as metadata, its record; sorted by digest. */
async function listKeys(store) {
  const entries = await store.list(KEY_PREFIX)
  return entries
    .map((e) => ({ digest: e.name.slice(KEY_PREFIX.length), record: e.metadata?.scopes ? e.metadata : null }))
    .filter((e) => /^[0-9a-f]{64}$/.test(e.digest))
    .sort((a, b) => (a.digest < b.digest ? -1 : 1))
}

/** The stored KeyRecord of a digest, or null when missing or unreadable. */
async function getRecord(store, digest) {
  try {
    const record = JSON.parse((await store.get(KEY_PREFIX + digest)) ?? 'null')
    return record && typeof record === 'object' && record.scopes ? record : null
  } catch {
    return null
  }
}

async function mapPool(items, limit, fn) {
  const results = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

// ---------------------------------------------------------------------------------------------
// Commands

function parseProviders(known, value = '*') {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((p) => p.trim().toLowerCase())
        .filter(Boolean),
    ),
  ]
  if (names.length === 0) fail('--providers is empty; give a comma-separated list or *')
  const unknown = names.filter((p) => p !== '*' && !known.includes(p))
  if (unknown.length) fail(`unknown provider ${unknown.map((p) => `"${p}"`).join(', ')}; known: ${known.join(', ')}, or *`)
  if (names.includes('*') && names.length > 1) fail('--providers * already means all providers; do not combine it with names')
  return names
}

function describeScopes(scopes) {
  if (!scopes || !Array.isArray(scopes.providers)) return { providers: '?', links: '?', admin: '?', events: '?' }
  return { providers: scopes.providers.join(','), links: scopes.links ? 'yes' : 'no', admin: scopes.admin ? 'yes' : 'no', events: scopes.events ? 'yes' : 'no' }
}

function keyCacheTtl() {
  const m = /^\s*KEY_CACHE_TTL_S\s*=\s*"?(\d+)"?/m.exec(wranglerToml())
  return m ? Number(m[1]) : 30
}

/** create's flags, checked against the known providers: the new key's name and scopes. */
function createRequest({ name, providers, links = false, admin = false, events = false }, known) {
  name = name?.trim()
  if (!name) fail('create needs --name <name>')
  if (name.length > 200) fail('--name is longer than 200 characters')
  return { name, scopes: { providers: parseProviders(known, providers), links, admin, events } }
}

async function create(store, { name, scopes }) {
  const key = `ae_${randomBytes(32).toString('base64url')}`
  const digest = createHash('sha256').update(key, 'utf8').digest('hex')
  const id = digest.slice(0, ID_LENGTH)
  const record = { id, name, scopes, created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }
  await store.put(KEY_PREFIX + digest, JSON.stringify(record), record)

  const s = describeScopes(scopes)
  console.log(`Created gateway key in ${store.where} ${BINDING}.`)
  console.log(`  id:        ${id}`)
  console.log(`  name:      ${name}`)
  console.log(`  providers: ${s.providers}   links: ${s.links}   admin: ${s.admin}   events: ${s.events}`)
  console.log('')
  console.log(`  key:       ${key}`)
  console.log('')
  console.log('Store this key now: only its digest is kept, and it cannot be shown again.')
}

async function list(store) {
  const keys = await listKeys(store)
  if (keys.length === 0) {
    console.log(`No gateway keys in ${store.where} ${BINDING}.`)
    return
  }
  // Keys made before records were kept as metadata: one read each.
  const records = await mapPool(keys, GET_CONCURRENCY, (k) => k.record ?? getRecord(store, k.digest))
  const rows = keys.map(({ digest }, i) => {
    const r = records[i]
    const s = describeScopes(r?.scopes)
    return [digest.slice(0, ID_LENGTH), r ? String(r.name) : '(unreadable record)', s.providers, s.links, s.admin, s.events, r?.created_at ?? '?']
  })
  const header = ['ID', 'NAME', 'PROVIDERS', 'LINKS', 'ADMIN', 'EVENTS', 'CREATED']
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)))
  for (const row of [header, ...rows])
    console.log(
      row
        .map((v, c) => v.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
}

async function revoke(store, id) {
  if (!id) fail('revoke needs an <id>; see `npm run keys -- list`')
  const prefix = id.trim().toLowerCase()
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) fail(`"${id}" is not a key id (at least 4 hex characters, as shown by list)`)
  const keys = (await listKeys(store)).filter((k) => k.digest.startsWith(prefix))
  const matches = keys.map((k) => k.digest)
  const where = store.where
  if (matches.length === 0) fail(`no gateway key with id ${prefix} in ${where} ${BINDING}`)
  if (matches.length > 1) {
    fail(`id ${prefix} is ambiguous: it matches ${matches.map((d) => d.slice(0, ID_LENGTH)).join(', ')}; give more characters`)
  }
  const [digest] = matches
  const record = keys[0].record ?? (await getRecord(store, digest))
  await store.delete(KEY_PREFIX + digest)
  const label = record ? ` (${record.name})` : ''
  console.log(`Revoked gateway key ${digest.slice(0, ID_LENGTH)}${label} in ${where} ${BINDING}.`)
  console.log(`Workers that verified it recently may still accept it for up to KEY_CACHE_TTL_S (${keyCacheTtl()} s in wrangler.toml).`)
}

// ---------------------------------------------------------------------------------------------
// Entry point

const STORE_FLAGS = ['remote', 'persist-to']
const COMMAND_FLAGS = { create: ['name', 'providers', 'links', 'admin', 'events', ...STORE_FLAGS], list: STORE_FLAGS, revoke: STORE_FLAGS }

async function main(argv) {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        name: { type: 'string' },
        providers: { type: 'string' },
        links: { type: 'boolean' },
        admin: { type: 'boolean' },
        events: { type: 'boolean' },
        remote: { type: 'boolean' },
        'persist-to': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (e) {
    const unknown = /Unknown option '([^']+)'/.exec(e.message)
    fail(`${unknown ? `unknown flag ${unknown[1]}` : e.message.split('\n')[0].replace(/\.$/, '')} (see --help)`)
  }
  const { values, positionals } = parsed
  const [command, ...rest] = positionals
  if (values.help || command === 'help') return console.log(usage(await providerNames()))
  if (!command) fail('no command given; use create, list or revoke (see --help)')
  if (!COMMAND_FLAGS[command]) fail(`unknown command "${command}"; use create, list or revoke (see --help)`)
  const stray = Object.keys(values).filter((f) => !COMMAND_FLAGS[command].includes(f))
  if (stray.length) fail(`${command} does not take --${stray[0]} (see --help)`)
  const maxArgs = command === 'revoke' ? 1 : 0
  if (rest.length > maxArgs) fail(`unexpected argument "${rest[maxArgs]}" for ${command} (see --help)`)

  if (values.remote && values['persist-to'] !== undefined) fail('--persist-to names local storage; do not combine it with --remote')
  if (values['persist-to'] === '') fail('--persist-to needs a folder')
  // Storage opens (workerd starts in its own process) while create loads the provider list.
  const opening = withProgress(
    values.remote ? 'reaching the deployed namespace' : 'opening local storage',
    values.remote ? remoteStore() : localStore(values['persist-to']),
  )
  let request
  try {
    if (command === 'create') request = createRequest(values, await providerNames())
  } catch (e) {
    await opening.then(
      (store) => store.close(),
      () => {},
    )
    throw e
  }
  const store = await opening
  try {
    const work = command === 'create' ? create(store, request) : command === 'list' ? list(store) : revoke(store, rest[0])
    return await withProgress(`${command} in ${store.where} ${BINDING}`, work)
  } finally {
    await store.close()
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(`keys: ${e instanceof CliError ? e.message : (e?.stack ?? e)}`)
  process.exit(1)
})
