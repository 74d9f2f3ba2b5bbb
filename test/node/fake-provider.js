// A fake provider Worker for the multi-isolate tests: one isolate (so its counters are exact),
// reached by every gateway Worker as their outbound service. It answers Frame.io and Spotify asset
// reads after `DELAY_MS`, and a Spotify token endpoint that rotates refresh tokens and refuses a
// used one with invalid_grant, as Spotify may.
const DELAY_MS = 150
let stats
let refresh
let tokens
function reset(initialRefresh) {
  stats = { frameio: [], spotify: 0, token: 0, invalidGrant: 0 }
  refresh = initialRefresh
  tokens = new Set()
}
reset('multi-isolate-refresh-token')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export default {
  async fetch(request) {
    const url = new URL(request.url)
    const path = url.pathname
    if (path === '/__stats') return Response.json(stats)
    if (path === '/__reset') {
      reset(url.searchParams.get('refresh') ?? 'multi-isolate-refresh-token')
      return Response.json({ ok: true })
    }
    if (path === '/token' && request.method === 'POST') {
      stats.token += 1
      const form = new URLSearchParams(await request.text())
      if (form.get('refresh_token') !== refresh) {
        stats.invalidGrant += 1
        return Response.json({ error: 'invalid_grant', error_description: 'Refresh token already used' }, { status: 400 })
      }
      await sleep(DELAY_MS)
      refresh = `rotated-${stats.token}-${crypto.randomUUID()}`
      const access = `access-${crypto.randomUUID()}`
      tokens.add(access)
      return Response.json({ access_token: access, token_type: 'Bearer', expires_in: 3600, refresh_token: refresh })
    }
    let match = /^\/frameio\/v2\/assets\/([0-9a-f-]+)$/.exec(path)
    if (match) {
      stats.frameio.push(Date.now())
      await sleep(DELAY_MS)
      return Response.json({ id: match[1], name: `asset ${match[1]}`, type: 'file', upload_completed_at: '2026-01-01T00:00:00Z' })
    }
    match = /^\/spotify\/ad_accounts\/[0-9a-f-]+\/assets\/([0-9a-f-]+)$/.exec(path)
    if (match) {
      stats.spotify += 1
      const token = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')?.[1]
      if (!token || !tokens.has(token)) return Response.json({ messages: ['Invalid access token'] }, { status: 401 })
      await sleep(DELAY_MS)
      return Response.json({ id: match[1], name: 'image.png', asset_type: 'IMAGE', status: 'READY', url: 'https://media.test/image.png' })
    }
    return new Response('no such route', { status: 404 })
  },
}
