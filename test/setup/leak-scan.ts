import { env } from 'cloudflare:workers'
import { afterAll, beforeEach, expect } from 'vitest'

/**
 * Runs around every test file: captures every log line the Worker writes and every response the
 * test helpers receive, and fails the file if any of them holds a configured secret — or, for logs,
 * a gateway key, a link token or the secret part of a signed URL.
 */
type Captured = { logs: string[]; responses: string[] }
const captured: Captured = ((globalThis as { __leakScan?: Captured }).__leakScan ??= { logs: [], responses: [] })

/** Warn and error lines are printed (a passing run prints none), unless a test causes them on purpose. */
let printWarnings = true
beforeEach(() => {
  printWarnings = true
})

/**
 * For a test that makes the gateway warn on purpose (a provider failing, a queue refusing): its
 * warn and error lines are still captured and scanned for leaks, and readable in `captured.logs`,
 * but not printed, so a passing `npm test` stays quiet. Call it in the test or its `beforeEach`.
 */
export function expectWarnings(): void {
  printWarnings = false
}

for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console)
  console[level] = (...args: unknown[]) => {
    const line = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')
    captured.logs.push(line)
    if (printWarnings && (level === 'error' || level === 'warn')) original(line.length > 400 ? `${line.slice(0, 400)}… (${line.length} chars)` : line)
  }
}

function secrets(): string[] {
  const e = env as unknown as Record<string, string | undefined>
  const names = [
    'SYNC_API_KEY',
    'GUMNUT_API_KEY',
    'FRAMEIO_TOKEN',
    'SPOTIFY_CLIENT_SECRET',
    'SPOTIFY_REFRESH_TOKEN',
    'FRAMEIO_WEBHOOK_SECRET',
    'FRAMEIO_WEBHOOK_SECRET_PREVIOUS',
  ]
  const values = names.map((n) => e[n]).filter((v): v is string => Boolean(v))
  values.push(...Object.values(JSON.parse(e.LINK_SIGNING_KEYS ?? '{}') as Record<string, string>))
  return values
}

/** Patterns that must never reach a log line, whatever the configuration. */
const LOG_FORBIDDEN: [string, RegExp][] = [
  ['gateway key', /\bae(?:_|%5f|%255f)[A-Za-z0-9_-]{8,}/i],
  ['bearer credential', /\bBearer\s+(?!\[redacted\])\S+/i],
  ['link token', /\/r\/(?!\[redacted\])v\d+\.[A-Za-z0-9_-]+\./i],
  ['link token', /\bv\d{1,3}\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/],
  ['webhook signing secret', /\bwhsec_[A-Za-z0-9+/=]{8,}/],
  ['signed-URL secret', /[?&](Signature|X-Amz-Signature|X-Goog-Signature|sig|verify|token)=(?!\[redacted\])[^&"\s]+/i],
]

/** Every leak in the given log lines and responses, described. */
export function findLeaks(logs: readonly string[], responses: readonly string[]): string[] {
  const values = secrets()
  const leaks: string[] = []
  for (const line of logs) {
    if (values.some((secret) => line.includes(secret))) leaks.push(`a log line holds a configured secret: ${line.slice(0, 200)}`)
    for (const [what, pattern] of LOG_FORBIDDEN) if (pattern.test(line)) leaks.push(`a log line holds a ${what}: ${line.slice(0, 200)}`)
  }
  for (const response of responses) {
    if (values.some((secret) => response.includes(secret))) leaks.push(`a response holds a configured secret: ${response.slice(0, 200)}`)
  }
  return leaks
}

afterAll(() => {
  const leaks = findLeaks(captured.logs, captured.responses)
  captured.logs.length = 0
  captured.responses.length = 0
  expect(leaks).toEqual([])
})

/** Records a response (headers and body, from a clone) for the scan. */
export async function recordResponse(response: Response): Promise<void> {
  const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join('\n')
  const body = response.body ? await response.clone().text() : ''
  captured.responses.push(`${response.status}\n${headers}\n\n${body}`)
}

export { captured }
