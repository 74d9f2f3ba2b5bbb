#!/usr/bin/env node
// Regenerates from openapi/: TypeScript types for every spec into src/generated/ (openapi-typescript,
// outputs listed in redocly.yaml), and the bundled gateway spec into public/openapi.json, served as a
// static asset at /openapi.json (outside the Worker bundle).
// `--check` regenerates into a temporary folder and fails when either output differs.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const check = process.argv.includes('--check')
const root = new URL('..', import.meta.url).pathname
const OUTPUTS = { 'src/generated': null, public: ['openapi.json'] } // folder → files owned (null: the whole folder)
const bin = (name) => join(root, 'node_modules/.bin', name)
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString()

/** Generates every output under `dir` (a scratch copy of the project's specs). */
function generateInto(dir) {
  cpSync(join(root, 'openapi'), join(dir, 'openapi'), { recursive: true })
  cpSync(join(root, 'redocly.yaml'), join(dir, 'redocly.yaml'))
  mkdirSync(join(dir, 'src/generated'), { recursive: true })
  mkdirSync(join(dir, 'public'), { recursive: true })
  run(bin('openapi-typescript'), [], dir)
  const bundled = join(dir, 'public/openapi.json')
  run(bin('redocly'), ['bundle', 'asset-edge', '--ext', 'json', '-o', bundled], dir)
  writeFileSync(bundled, `${JSON.stringify(JSON.parse(readFileSync(bundled, 'utf8')), null, 2)}\n`)
}

const owned = (base, folder) => {
  const files = OUTPUTS[folder]
  const path = join(base, folder)
  return files ?? (existsSync(path) ? readdirSync(path) : [])
}

const fresh = mkdtempSync(join(tmpdir(), 'asset-edge-codegen-'))
try {
  generateInto(fresh)
  const stale = []
  for (const folder of Object.keys(OUTPUTS)) {
    const want = owned(fresh, folder)
    const have = owned(root, folder)
    for (const file of new Set([...want, ...have])) {
      const a = join(fresh, folder, file)
      const b = join(root, folder, file)
      if (!existsSync(a) || !existsSync(b) || readFileSync(a, 'utf8') !== readFileSync(b, 'utf8')) stale.push(`${folder}/${file}`)
    }
  }
  if (check) {
    if (stale.length) {
      console.error(`codegen:check: stale ${stale.join(', ')}; run \`npm run codegen\`.`)
      process.exit(1)
    }
    console.log('codegen:check: generated files are up to date.')
  } else {
    rmSync(join(root, 'src/generated'), { recursive: true, force: true })
    cpSync(join(fresh, 'src/generated'), join(root, 'src/generated'), { recursive: true })
    mkdirSync(join(root, 'public'), { recursive: true })
    for (const file of OUTPUTS.public) cpSync(join(fresh, 'public', file), join(root, 'public', file))
    console.log(`codegen: wrote src/generated/ and public/openapi.json (${stale.length} changed)`)
  }
} finally {
  rmSync(fresh, { recursive: true, force: true })
}
