#!/usr/bin/env node
// Regenerates src/generated/ from openapi/: TypeScript types for every spec (openapi-typescript,
// outputs listed in redocly.yaml) and the bundled gateway spec served at /openapi.json.
// `--check` regenerates into a temporary folder and fails when src/generated/ differs.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, cpSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const check = process.argv.includes('--check')
const root = new URL('..', import.meta.url).pathname
const generated = join(root, 'src/generated')
const bin = (name) => join(root, 'node_modules/.bin', name)
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString()

function generateInto(dir) {
  // openapi-typescript writes to the paths redocly.yaml names; run it in a scratch copy for --check.
  const work = mkdtempSync(join(tmpdir(), 'asset-edge-codegen-'))
  cpSync(join(root, 'openapi'), join(work, 'openapi'), { recursive: true })
  cpSync(join(root, 'redocly.yaml'), join(work, 'redocly.yaml'))
  mkdirSync(join(work, 'src/generated'), { recursive: true })
  run(bin('openapi-typescript'), [], work)
  run(bin('redocly'), ['bundle', 'asset-edge', '--ext', 'json', '-o', join(work, 'src/generated/asset-edge.openapi.json')], work)
  const spec = JSON.parse(readFileSync(join(work, 'src/generated/asset-edge.openapi.json'), 'utf8'))
  writeFileSync(join(work, 'src/generated/asset-edge.openapi.json'), `${JSON.stringify(spec, null, 2)}\n`)
  mkdirSync(dir, { recursive: true })
  for (const file of readdirSync(join(work, 'src/generated'))) cpSync(join(work, 'src/generated', file), join(dir, file))
  rmSync(work, { recursive: true, force: true })
}

if (check) {
  const fresh = mkdtempSync(join(tmpdir(), 'asset-edge-fresh-'))
  generateInto(fresh)
  const want = readdirSync(fresh).sort()
  const have = readdirSync(generated).sort()
  const stale = want.filter((f) => !have.includes(f) || readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(generated, f), 'utf8'))
  const extra = have.filter((f) => !want.includes(f))
  rmSync(fresh, { recursive: true, force: true })
  if (stale.length || extra.length) {
    console.error(`codegen:check: src/generated is stale (${[...stale, ...extra].join(', ')}); run \`npm run codegen\`.`)
    process.exit(1)
  }
  console.log(`codegen:check: src/generated is up to date (${want.length} files).`)
} else {
  rmSync(generated, { recursive: true, force: true })
  generateInto(generated)
  console.log(`codegen: wrote ${readdirSync(generated).length} files to src/generated/`)
}
