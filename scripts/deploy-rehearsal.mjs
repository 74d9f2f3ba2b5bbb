#!/usr/bin/env node
// `npm run test:deploy` (part of `npm test`): rehearses docs/operations.md's deploy path without an
// account. Checks that the secrets file template sets every secret wrangler.toml requires (wrangler
// refuses to create a Worker while one is missing) and lists every optional one; that no binding
// needs a hand-made resource id; that the bindings the code reads are declared and the declared
// ones are read; that each queue is consumed (retry budget, dead-letter queue) and created by the
// deploy steps; that the Worker is reachable (workers.dev or routes); and that
// `wrangler deploy --dry-run --secrets-file <template>` builds, with a Worker bundle of at most
// MAX_GZIP_KIB gzipped and the docs viewer in the assets, not in the bundle.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { gzipSync } from 'node:zlib'
import { experimental_readRawConfig } from 'wrangler'
import { CATALOG } from '../src/providers/catalog.ts'

// Issue 12's budget for the production bundle. At 37.7 KiB after the Hono tiny preset (one small
// router), the five security headers set without Hono's secureHeaders, and keep_names off;
// docs/benchmarks.md records the size of each measured build.
const MAX_GZIP_KIB = 40
const root = new URL('..', import.meta.url).pathname
const problems = []
const check = (ok, message) => ok || problems.push(message)

const { rawConfig: config } = experimental_readRawConfig({ config: join(root, 'wrangler.toml') })

// 1. The secrets file template in docs/operations.md.
const page = readFileSync(join(root, 'docs/operations.md'), 'utf8')
const template = /```ini\n(# \.secrets\.env[\s\S]*?)```/.exec(page)?.[1]
check(template, 'docs/operations.md has no ```ini block starting "# .secrets.env" (the secrets file template)')
const set = parseEnv(template ?? '')
const listed = new Set([...(template ?? '').matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]))
const required = config.secrets?.required ?? []
for (const name of required) check(set[name], `required secret ${name} is not set by the template (wrangler would refuse the first deploy)`)
const providerSecrets = CATALOG.flatMap((p) => [...p.secrets, ...(p.optionalSecrets ?? [])])
const envDts = readFileSync(join(root, 'src/env.d.ts'), 'utf8')
const optional = [...new Set([...providerSecrets, ...[...envDts.matchAll(/^\s+([A-Z][A-Z0-9_]*)\?: string/gm)].map((m) => m[1])])]
for (const name of optional) {
  check(!required.includes(name), `${name} is optional (typed as such; a provider without its secrets answers 503) but wrangler.toml requires it`)
  check(listed.has(name) || name in set, `optional secret ${name} is missing from the template`)
}
for (const name of [...Object.keys(set), ...listed])
  check(required.includes(name) || optional.includes(name), `the template names ${name}, which no code reads as a secret`)
for (const name of Object.keys(config.vars ?? {})) check(!required.includes(name) && !optional.includes(name), `${name} is both a var and a secret`)
check(set.LINK_SIGNING_KEYS?.includes(`"${config.vars?.LINK_SIGNING_KEY_ID}"`), 'the template signs links with a key id other than LINK_SIGNING_KEY_ID')

// 2. Resources: provisioned by the first deploy, no placeholder ids.
for (const kv of config.kv_namespaces ?? [])
  check(!kv.id || !/^0+$/.test(kv.id), `KV ${kv.binding} has a placeholder id: leave it out to have the first deploy create it`)

// 3. Bindings and routes.
const source = (dir) =>
  readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.ts') && !f.startsWith('generated'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n')
const code = source(join(root, 'src'))
const bindings = [
  ...(config.kv_namespaces ?? []).map((b) => b.binding),
  ...(config.analytics_engine_datasets ?? []).map((b) => b.binding),
  ...(config.durable_objects?.bindings ?? []).map((b) => b.name),
  ...(config.queues?.producers ?? []).map((b) => b.binding),
  config.version_metadata?.binding,
  config.assets?.binding,
].filter(Boolean)
for (const name of bindings) check(new RegExp(`\\b${name}\\b`).test(code), `binding ${name} is declared but no code under src/ reads it`)
for (const name of new Set([...code.matchAll(/env\.([A-Z][A-Z0-9_]*)\b/g)].map((m) => m[1]))) {
  const declared = bindings.includes(name) || name in (config.vars ?? {}) || required.includes(name) || optional.includes(name) || name === 'DEV_GATEWAY_KEY'
  check(declared, `src/ reads env.${name}, which wrangler.toml does not declare`)
}
// Queues: each producer's queue consumed here, with the code's retry budget and a dead-letter
// queue; the provider events queue under the name the `queue` handler picks its consumer by; every
// queue (dead-letter ones too) created by docs/operations.md's deploy steps (wrangler does not
// create queues) and each producer binding in docs/configuration.md.
const maxAttempts = Number(/export const MAX_ATTEMPTS = (\d+)/.exec(readFileSync(join(root, 'src/events/delivery.ts'), 'utf8'))?.[1])
const providerQueue = /export const PROVIDER_EVENTS_QUEUE = '([^']+)'/.exec(readFileSync(join(root, 'src/events/provider-events.ts'), 'utf8'))?.[1]
const producers = config.queues?.producers ?? []
const consumers = config.queues?.consumers ?? []
const configPage = readFileSync(join(root, 'docs/configuration.md'), 'utf8')
const created = new Set([...page.matchAll(/wrangler queues create ([a-z0-9-]+)/g)].map((m) => m[1]))
for (const { binding, queue } of producers) {
  const consumer = consumers.find((c) => c.queue === queue)
  check(consumer, `queue ${queue} (${binding}) has no consumer in wrangler.toml: its messages would never be handled`)
  check(
    !consumer || consumer.max_retries === maxAttempts - 1,
    `queue ${queue}: max_retries is ${consumer?.max_retries}, MAX_ATTEMPTS (${maxAttempts}) − 1 expected`,
  )
  check(!consumer || consumer.dead_letter_queue, `queue ${queue} has no dead_letter_queue: a message past its retries would be dropped`)
  check(configPage.includes(`| \`${binding}\` |`), `docs/configuration.md has no row for the queue binding ${binding}`)
}
check(
  producers.find((p) => p.binding === 'PROVIDER_EVENTS')?.queue === providerQueue,
  `PROVIDER_EVENTS must name the queue ${providerQueue} (PROVIDER_EVENTS_QUEUE, by which the queue handler picks its consumer)`,
)
for (const queue of new Set([...consumers.map((c) => c.queue), ...consumers.map((c) => c.dead_letter_queue)].filter(Boolean)))
  check(created.has(queue), `docs/operations.md's deploy steps do not create the queue ${queue} (\`npx wrangler queues create ${queue}\`)`)

const routes = [...(config.routes ?? []), ...(config.route ? [config.route] : [])]
check(config.workers_dev !== false || routes.length > 0, 'workers_dev is off and there are no routes: the deployed Worker would be unreachable')
for (const route of routes) check(typeof route === 'string' || route.pattern, `a route has no pattern: ${JSON.stringify(route)}`)
check(config.assets?.directory, 'no [assets] directory: /openapi.json and /docs are served from it')

const headersFile = readFileSync(join(root, 'static/_headers'), 'utf8')
const routeCsp = /DOCS_CSP =\s*"([^"]+)"/.exec(readFileSync(join(root, 'src/routes/meta.ts'), 'utf8'))?.[1]
check(routeCsp && headersFile.includes(`Content-Security-Policy: ${routeCsp}`), 'static/_headers and DOCS_CSP in src/routes/meta.ts give /docs different CSPs')

// 4. The dry run, with the template's secrets file, exactly as the docs run it.
const out = mkdtempSync(join(tmpdir(), 'asset-edge-rehearsal-'))
try {
  const secretsFile = join(out, 'secrets.env')
  writeFileSync(secretsFile, template ?? '')
  try {
    execFileSync(join(root, 'node_modules/.bin/wrangler'), ['deploy', '--dry-run', '--outdir', join(out, 'dist'), '--secrets-file', secretsFile], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', WRANGLER_SEND_METRICS: 'false' },
    })
  } catch (err) {
    problems.push(`wrangler deploy --dry-run failed: ${String(err.stderr || err.stdout || err.message).slice(0, 1500)}`)
  }
  const bundle = join(out, 'dist', 'index.js')
  if (existsSync(bundle)) {
    const gzipKib = gzipSync(readFileSync(bundle)).length / 1024
    check(gzipKib <= MAX_GZIP_KIB, `the Worker bundle is ${gzipKib.toFixed(1)} KiB gzipped, over ${MAX_GZIP_KIB} KiB`)
    check(!readFileSync(bundle, 'utf8').includes('createApiReference'), 'the docs viewer is in the Worker bundle; it belongs in the assets')
    const assets = config.assets?.directory ? join(root, config.assets.directory) : ''
    for (const file of ['openapi.json', 'docs.html', 'docs/scalar.js', 'docs/init.js', '_headers'])
      check(assets && existsSync(join(assets, file)), `the build left no ${file} in the assets`)
    if (problems.length === 0)
      console.log(
        `deploy rehearsal: ok (bundle ${gzipKib.toFixed(1)} KiB gzipped, ${(statSync(join(assets, 'docs/scalar.js')).size / 1024).toFixed(0)} KiB viewer as an asset; required secrets: ${required.join(', ')})`,
      )
  } else problems.push('the dry run left no index.js')
} finally {
  rmSync(out, { recursive: true, force: true })
}

if (problems.length) {
  console.error(`deploy rehearsal failed:\n- ${problems.join('\n- ')}`)
  process.exit(1)
}
