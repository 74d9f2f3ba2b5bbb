import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createRedactor } from '../src/http/redact'
import { PROVIDERS } from '../src/providers'
import { GUMNUT_SAMPLE } from '../src/providers/gumnut/sandbox'
import { SAMPLE } from '../src/sandbox/samples'
import { call, callApp, DEV_KEY, ORIGIN, resetState, worldWorker } from './helpers'
import { captured, findLeaks } from './setup/leak-scan'

beforeEach(resetState)

const accessLines = () =>
  captured.logs
    .flatMap((batch) => batch.split('\n'))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>
      } catch {
        return undefined
      }
    })
    .filter((line): line is Record<string, unknown> => line !== undefined && 'route' in line)

describe('one JSON log line per request', () => {
  it('names request id, route, provider, cache status, upstream status and time, duration', async () => {
    const before = accessLines().length
    const miss = await callApp(`/sync/v2/assets/${SAMPLE.video}`)
    const hit = await callApp(`/sync/v2/assets/${SAMPLE.video}`)
    const lines = accessLines().slice(before)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      request_id: miss.response.headers.get('x-request-id'),
      method: 'GET',
      route: '/sync/v2/assets/:id',
      status: 200,
      provider: 'sync',
      cache_status: 'asset-edge; fwd=miss; stored',
      upstream_status: 200,
    })
    expect(lines[0]?.upstream_ms).toBeTypeOf('number')
    expect(lines[0]?.duration_ms).toBeTypeOf('number')
    expect(lines[1]).toMatchObject({ request_id: hit.response.headers.get('x-request-id'), cache_status: expect.stringMatching(/hit; detail=memory/) })
    expect(lines[1]?.upstream_status).toBeUndefined()
  })

  it('logs upstream failures with the code and upstream status', async () => {
    const before = accessLines().length
    await callApp(`/gumnut/api/assets/${GUMNUT_SAMPLE.fail500}`)
    expect(accessLines().slice(before)[0]).toMatchObject({ status: 500, code: 'upstream_error', upstream_status: 500, provider: 'gumnut' })
  })

  it('redacts link tokens in paths', async () => {
    const before = accessLines().length
    await callApp('/r/v1.k2.eyJhIjoxfQ.c2lnbmF0dXJl', { key: 'unused' })
    expect(accessLines().slice(before)[0]?.path).toBe('/r/[redacted]')
  })

  it('redacts what the caller chose: a key-shaped request id, keys and signatures in the path', async () => {
    const before = accessLines().length
    const path = `/sync/v2/assets/${SAMPLE.video}/ae_presented_key_123?X-Amz-Signature=deadbeef`
    await callApp(path, { init: { headers: { 'x-request-id': 'ae_caller_chosen_id' } } })
    const line = accessLines().slice(before)[0]
    expect(line?.request_id).toBe('[redacted]')
    expect(line?.path).toBe(`/sync/v2/assets/${SAMPLE.video}/[redacted]?X-Amz-Signature=[redacted]`)
  })
})

describe('production logging', () => {
  it('writes each line as one object in one console.log, before the request ends', async () => {
    const { handler } = worldWorker({ batchLogs: false })
    const before = captured.logs.length
    const ids: (string | null)[] = []
    for (let i = 0; i < 3; i++) {
      const ctx = createExecutionContext()
      const response = await handler.fetch(
        new Request(`${ORIGIN}/sync/v2/assets/${SAMPLE.video}`, { headers: { authorization: `Bearer ${DEV_KEY}` } }),
        env,
        ctx,
      )
      ids.push(response.headers.get('x-request-id'))
      // Logged already, without waiting on the execution context: the line belongs to this request.
      const last = captured.logs.at(-1) ?? ''
      expect(last.includes('\n')).toBe(false)
      expect(JSON.parse(last)).toMatchObject({ request_id: ids[i], route: '/sync/v2/assets/:id' })
      await waitOnExecutionContext(ctx)
    }
    expect(captured.logs.slice(before).filter((b) => b.includes('"route"'))).toHaveLength(3)
  })
})

describe('log batching (dev entry)', () => {
  it('writes up to LOG_BATCH_LINES lines per console.info call', async () => {
    const before = captured.logs.length
    const info = vi.spyOn(console, 'info')
    const log = vi.spyOn(console, 'log')
    await Promise.all(Array.from({ length: 7 }, () => callApp(`/sync/v2/assets/${SAMPLE.video}`, { env: { LOG_BATCH_LINES: '3', LOG_FLUSH_MS: '50' } })))
    const batches = captured.logs.slice(before).filter((b) => b.includes('"route"'))
    expect(batches.map((b) => b.split('\n').length)).toEqual([3, 3, 1])
    // Info level: wrangler prints it as it is, where a `log`-level batch goes through its source mapper.
    expect(info.mock.calls.map(([batch]) => String(batch)).filter((b) => b.includes('"route"'))).toEqual(batches)
    expect(log.mock.calls.filter(([line]) => String(line).includes('"route"'))).toEqual([])
    info.mockRestore()
    log.mockRestore()
  })
})

describe('redaction', () => {
  const redactor = createRedactor(PROVIDERS, ['DEV_GATEWAY_KEY'])
  const redactUrl = redactor.url
  const configuredSecrets = (e: object) => redactor.secrets(e)
  const redactText = (text: string, _secrets: readonly string[]) => redactor.text(text, env)
  it('removes signed-URL secrets, tokens and keys', () => {
    expect(redactUrl('/a?X-Amz-Date=20261123T180000Z&X-Amz-Signature=deadbeef&verify=abc&dl=1&token=a.b.c&Signature=x&include=faces')).toBe(
      '/a?X-Amz-Date=20261123T180000Z&X-Amz-Signature=[redacted]&verify=[redacted]&dl=[redacted]&token=[redacted]&Signature=[redacted]&include=faces',
    )
    const secrets = configuredSecrets(env)
    expect(secrets).toContain(env.SYNC_API_KEY)
    expect(secrets).toContain(env.FRAMEIO_WEBHOOK_SECRET)
    const text = `failed with ${env.GUMNUT_API_KEY} and Bearer abc.def and ae_0123456789abcdef at https://m.test/x.mp4?Expires=1&Signature=zzz`
    const out = redactText(text, secrets)
    expect(out).not.toContain(env.GUMNUT_API_KEY)
    expect(out).not.toContain('abc.def')
    expect(out).not.toContain('ae_0123456789abcdef')
    expect(out).not.toContain('zzz')
    expect(out).toContain('Expires=1')
  })
})

describe('redaction: encoded, any case, anywhere (issue 15 finding 10)', () => {
  const redactor = createRedactor(PROVIDERS, ['DEV_GATEWAY_KEY'])
  const token = 'v2.k2.WyJzeW5jIix7ImlkIjoiMiJ9XQ.Ob1Cd6nFqGT9k93LAw6ZKRNaKdEwg8a5AzYKc_I0sAY'

  it('percent-encoded gateway keys in paths', () => {
    for (const path of [
      '/ae%5F0123456789abcdef',
      '/ae%5f0123456789abcdef/x',
      '/ae%255F0123456789abcdef',
      '/sync/v2/assets/%61e_0123456789abcdef',
      // Any case: found by the bad-input property test on a clean clone.
      '/AE_0123456789abcdef',
      '/aE%5F0123456789abcdef',
    ]) {
      expect(redactor.url(path), path).not.toMatch(/0123456789abcdef/)
    }
  })

  it('tokens under /R/ or encoded, and a token anywhere in a line', () => {
    expect(redactor.url(`/R/${token}`)).toBe('/r/[redacted]')
    expect(redactor.url('/R/not-even-a-token')).toBe('/r/[redacted]')
    expect(redactor.url(`/x?next=${encodeURIComponent(`/r/${token}`)}`)).not.toContain('Ob1Cd6nF')
    expect(redactor.url(`/x/${token.replaceAll('.', '%2E')}`)).not.toContain('Ob1Cd6nF')
    const line = redactor.text(`followed ${token} from a page, then "${token}"`, env)
    expect(line).toBe('followed [redacted] from a page, then "[redacted]"')
  })

  it('never decodes what could break a JSON log line', () => {
    expect(redactor.url('/a%22b%0A%5Cc')).toBe('/a%22b%0A%5Cc')
    expect(redactor.text('{"path":"/a%2522"}', env)).toBe('{"path":"/a%22"}')
  })

  it('in the access log', async () => {
    const before = captured.logs.length
    await callApp('/ae%5F0123456789abcdef', { key: 'unused' })
    await call(`/R/${token}`, { key: null })
    const lines = captured.logs.slice(before).join('\n')
    expect(lines).not.toContain('0123456789abcdef')
    expect(lines).not.toContain('Ob1Cd6nF')
  })
})

describe('the leak scan that runs after every test file', () => {
  it('catches secrets, keys, link tokens and signatures', () => {
    expect(findLeaks([`x ${env.SPOTIFY_REFRESH_TOKEN}`], [])).toHaveLength(1)
    expect(findLeaks(['auth: Bearer abcdef'], [])).toHaveLength(1)
    expect(findLeaks(['key ae_abcdefghijklmnop'], [])).toHaveLength(1)
    expect(findLeaks(['GET /r/v1.k2.eyJhIjoxfQ.sig'], [])).toHaveLength(1)
    expect(findLeaks(['GET /R/v2.k2.eyJhIjoxfQ.sig'], [])).toHaveLength(1)
    expect(findLeaks(['path /ae%5Fabcdefghijklmnop'], [])).toHaveLength(1)
    expect(findLeaks(['seen v2.k2.WyJzeW5jIix7ImlkIjoiMiJ9XQ.Ob1Cd6nFqGT9k93LAw6ZKRNaKdEwg8a5AzYKc_I0sAY'], [])).toHaveLength(1)
    expect(findLeaks(['https://m.test/a?X-Amz-Signature=abc'], [])).toHaveLength(1)
    expect(findLeaks([], [`{"error":"${env.FRAMEIO_WEBHOOK_SECRET}"}`])).toHaveLength(1)
    expect(findLeaks(['GET /r/[redacted] X-Amz-Signature=[redacted]'], ['{"ok":true}'])).toEqual([])
  })

  it("has seen this file's log lines", () => {
    expect(captured.logs.length).toBeGreaterThan(0)
  })
})
