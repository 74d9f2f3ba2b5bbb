// The gateway a CLI talks to: --url, else ASSET_EDGE_URL, else the URL the running `npm run dev`
// wrote to .wrangler/dev-url (so `npm run dev -- --port 9000` needs nothing more), else port 8787.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const DEV_URL_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '.wrangler', 'dev-url')

export function gatewayUrl(flag) {
  if (flag) return flag
  if (process.env.ASSET_EDGE_URL) return process.env.ASSET_EDGE_URL
  const written = existsSync(DEV_URL_FILE) ? readFileSync(DEV_URL_FILE, 'utf8').trim() : ''
  return written || 'http://localhost:8787'
}
