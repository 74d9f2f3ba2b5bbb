import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { SAMPLE } from '../src/sandbox/samples'
import { callApp, expectProblem, expectProviderAnswer, resetState, syncRecord, UPSTREAM } from './helpers'

/**
 * Every upstream fault crossed with every cache state (README, "Fault matrix"). The provider here is
 * the test's own: its first answer is a good record, every later one the fault.
 */
/** `status`/`code`: the gateway's outcome; `passed`: the status the client sees when the provider's own answer is replayed. */
type Fault = { name: string; answer: (signal: AbortSignal) => Promise<Response>; status: number; code: string; passed?: number }

const stream = (first: string, then: 'error' | 'endless') =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(first))
      if (then === 'error') c.error(new Error('connection reset'))
    },
    pull(c) {
      if (then === 'endless') c.enqueue(new TextEncoder().encode('x'.repeat(65536)))
    },
  })

const FAULTS: Fault[] = [
  { name: '500', answer: async () => Response.json({ message: 'x', statusCode: 500 }, { status: 500 }), status: 502, code: 'upstream_error', passed: 500 },
  { name: '502', answer: async () => new Response('<html>bad gateway</html>', { status: 502 }), status: 502, code: 'upstream_error', passed: 502 },
  {
    name: '503 + Retry-After',
    answer: async () => new Response('{}', { status: 503, headers: { 'retry-after': '30' } }),
    status: 503,
    code: 'upstream_unavailable',
    passed: 503,
  },
  {
    name: '429',
    answer: async () => new Response('{}', { status: 429, headers: { 'retry-after': '7' } }),
    status: 429,
    code: 'upstream_rate_limited',
    passed: 429,
  },
  {
    name: 'hang',
    answer: (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
    status: 504,
    code: 'upstream_timeout',
  },
  { name: 'connection refused', answer: () => Promise.reject(new TypeError('Network connection lost.')), status: 502, code: 'upstream_unreachable' },
  {
    name: 'malformed JSON',
    answer: async () => new Response('{"id": ', { headers: { 'content-type': 'application/json' } }),
    status: 502,
    code: 'upstream_invalid_response',
  },
  {
    name: 'truncated body',
    answer: async () => new Response(stream('{"id": "abc', 'error'), { headers: { 'content-type': 'application/json' } }),
    status: 502,
    code: 'upstream_body_incomplete',
  },
  {
    name: 'wrong content type',
    answer: async () => new Response('<!doctype html>', { headers: { 'content-type': 'text/html' } }),
    status: 502,
    code: 'upstream_invalid_response',
  },
  {
    name: 'oversized body',
    answer: async () => new Response(stream('{"pad":"', 'endless'), { headers: { 'content-type': 'application/json' } }),
    status: 502,
    code: 'upstream_body_too_large',
  },
]

type State = { name: string; mediaLifetimeS: number; laterS: number | undefined; expect: 'error' | 'hit' | 'stale-revalidating' | 'stale-if-error' }
const STATES: State[] = [
  { name: 'nothing cached', mediaLifetimeS: 86_400, laterS: undefined, expect: 'error' },
  { name: 'fresh', mediaLifetimeS: 86_400, laterS: 10, expect: 'hit' },
  { name: 'stale (revalidating)', mediaLifetimeS: 86_400, laterS: 301, expect: 'stale-revalidating' },
  { name: 'stale (past revalidation, provider failing)', mediaLifetimeS: 86_400 * 2, laterS: 4000, expect: 'stale-if-error' },
  { name: 'stale with expired media URLs', mediaLifetimeS: 600, laterS: 600, expect: 'error' },
]

beforeEach(resetState)
afterEach(() => vi.useRealTimers())

const PATH = `/sync/v2/assets/${SAMPLE.video}`

describe.each(STATES)('cache state: $name', (state) => {
  it.each(FAULTS)('upstream $name', async (fault) => {
    vi.useFakeTimers({ toFake: ['Date'] })
    let calls = 0
    const upstream: typeof fetch = async (input, init) => {
      const request = new Request(input, init)
      if (new URL(request.url).origin !== UPSTREAM) throw new Error('unexpected call')
      calls += 1
      return calls === 1 && state.laterS !== undefined ? syncRecord(SAMPLE.video, 'cached', state.mediaLifetimeS) : fault.answer(request.signal)
    }
    const ask = () => callApp(PATH, { env: { SYNC_BASE_URL: UPSTREAM }, fetch: upstream })
    if (state.laterS !== undefined) {
      expect((await ask()).response.status).toBe(200)
      vi.setSystemTime(Date.now() + state.laterS * 1000)
    }
    const { response } = await ask()
    const cacheStatus = response.headers.get('cache-status') ?? ''
    switch (state.expect) {
      case 'error':
        if (fault.passed) await expectProviderAnswer(response, fault.passed, fault.code)
        else await expectProblem(response, fault.status, fault.code)
        break
      case 'hit':
        expect(response.status).toBe(200)
        expect(cacheStatus).toMatch(/hit/)
        expect(calls).toBe(1)
        break
      case 'stale-revalidating':
        expect(response.status).toBe(200)
        expect(cacheStatus).toBe('asset-edge; fwd=stale; detail=revalidating')
        expect(((await response.json()) as { name: string }).name).toBe('cached')
        break
      case 'stale-if-error':
        expect(response.status).toBe(200)
        expect(cacheStatus).toBe(`asset-edge; fwd=stale; fwd-status=${fault.status}; detail=stale-if-error`)
        expect(((await response.json()) as { name: string }).name).toBe('cached')
        break
    }
    if (state.expect !== 'hit') {
      // Nothing wrong was cached: the good copy (if any) is still what a later lookup finds.
      const again = (await ask()).response
      if (state.expect === 'error') expect(again.status).toBe(fault.passed ?? fault.status)
      else expect(again.status).toBe(200)
    }
  })
})
