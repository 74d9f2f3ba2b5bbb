#!/usr/bin/env node
// The npm registry reachable from this workplace lacks workerd's macOS and Windows builds, so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lock as out of
// sync. This adds the missing platform entries (os/cpu-guarded, so npm skips them on Linux and
// fetches them from the registry on a Mac or Windows machine). Run it after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs'

const PLATFORMS = {
  'workerd-darwin-64': { os: ['darwin'], cpu: ['x64'] },
  'workerd-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'workerd-windows-64': { os: ['win32'], cpu: ['x64'] },
  'workerd-linux-arm64': { os: ['linux'], cpu: ['arm64'] },
}
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
let added = 0
for (const [path, entry] of Object.entries(lock.packages)) {
  if (!path.endsWith('node_modules/@cloudflare/workerd-linux-64')) continue
  for (const [name, guard] of Object.entries(PLATFORMS)) {
    const sibling = path.replace(/workerd-linux-64$/, name)
    if (lock.packages[sibling]) continue
    lock.packages[sibling] = { version: entry.version, ...guard, dev: entry.dev, license: entry.license, optional: true, engines: entry.engines }
    added += 1
  }
}
lock.packages = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))))
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`)
console.log(`lock-platforms: added ${added} platform entries`)
