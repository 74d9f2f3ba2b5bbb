#!/usr/bin/env node
// `npm run lint` (part of `npm test`): the shape the architecture promises, checked on the files.
// - Outside src/providers/ and src/generated/, no file under src/ names a provider: a provider is one folder.
// - No module under src/ exports a reset hook: isolate state is one injected object (src/isolate-state.ts).
// - The registry, the scripts' catalog and the dev sandboxes list the same providers.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { CATALOG } from '../src/providers/catalog.ts'

const ROOT = join(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')
const files = (dir) => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]))
const problems = []

const names = CATALOG.map((p) => p.name)
const mention = new RegExp(`\\b(${names.join('|')})\\b`, 'i')
for (const file of files(SRC)) {
  const rel = relative(ROOT, file)
  if (rel.startsWith('src/providers/') || rel.startsWith('src/generated/')) continue
  const text = readFileSync(file, 'utf8')
  const line = text.split('\n').findIndex((l) => mention.test(l))
  if (line >= 0) problems.push(`${rel}:${line + 1} names a provider; provider knowledge belongs in src/providers/<name>/`)
  if (/export\s+(async\s+)?function\s+reset/.test(text)) problems.push(`${rel} exports a reset hook; keep isolate state in IsolateState`)
}

const listed = (file, pattern) => [...readFileSync(join(SRC, 'providers', file), 'utf8').matchAll(pattern)].map((m) => m[1])
const registry = listed('index.ts', /^import \{ \w+ \} from '\.\/(\w+)'$/gm).filter((name) => name !== 'types')
const sandboxes = listed('sandboxes.ts', /^import \{ (\w+)Sandbox \} from/gm)
for (const [what, list] of [
  ['src/providers/index.ts', registry],
  ['src/providers/sandboxes.ts', sandboxes],
]) {
  if ([...list].sort().join() !== [...names].sort().join()) problems.push(`${what} lists ${list.join(', ')}; catalog.ts lists ${names.join(', ')}`)
}

if (problems.length > 0) {
  console.error(`check-shape:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`check-shape: ${names.length} providers, each one folder; no reset hooks`)
