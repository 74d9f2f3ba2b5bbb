import createClient from 'openapi-fetch'
import type { paths } from '../../generated/gumnut'
import type { EventEffect, FeedSource } from '../types'

export const GUMNUT_CURSOR_KEY = 'gumnut:events-cursor'
const PAGE_SIZE = 100
const MAX_PAGES = 10 // per cron run; the rest waits for the next run
const ASSET_ID = /^asset_[A-Za-z0-9_-]{1,64}$/

const EFFECTS: Record<string, EventEffect> = {
  asset_created: 'invalidate',
  asset_updated: 'rewarm',
  metadata_updated: 'rewarm',
  asset_deleted: 'deleted',
}

/**
 * Gumnut's event feed, read from the cursor kept in KV; each asset event is applied. The cursor
 * moves only after a whole page is applied, so a run that fails part-way loses nothing: the next
 * run starts from the same page again (applying an event twice is harmless). Several events of
 * one asset on one page cost one upstream call.
 */
export const gumnutFeed: FeedSource = {
  async poll({ upstream, timeoutMs, apply }) {
    const { env, kv } = upstream
    const client = createClient<paths>({ baseUrl: env.GUMNUT_BASE_URL, fetch: upstream.fetch })
    let cursor = (await kv.get(GUMNUT_CURSOR_KEY)) ?? undefined
    let applied = 0 // asset events covered
    let assets = 0 // assets dropped and re-fetched or recorded: at most one per asset and page
    let pages = 0
    while (pages < MAX_PAGES) {
      const { data, response } = await client.GET('/api/events', {
        params: { query: { entity_types: 'asset', limit: PAGE_SIZE, ...(cursor ? { after_cursor: cursor } : {}) } },
        headers: { authorization: `Bearer ${env.GUMNUT_API_KEY ?? ''}` },
        signal: AbortSignal.timeout(timeoutMs),
      })
      if (!data || !Array.isArray(data.data)) throw new Error(`Gumnut events feed answered ${response.status}`)
      pages += 1
      // One application per asset and page, with its last event's effect: each application drops the
      // asset and fetches (or records) its state now, so earlier events of the page add nothing but calls.
      const latest = new Map<string, { effect: EventEffect; type: string }>()
      for (const event of data.data) {
        const effect = EFFECTS[event.event_type]
        if (!effect || !ASSET_ID.test(event.entity_id)) continue
        latest.delete(event.entity_id) // keep the page's order of last events
        latest.set(event.entity_id, { effect, type: event.event_type })
        applied += 1
      }
      for (const [assetId, { effect, type }] of latest) {
        await apply({ ids: { asset_id: assetId }, effect, type })
        assets += 1
      }
      const last = data.data.at(-1)
      if (last) {
        cursor = last.cursor
        await kv.put(GUMNUT_CURSOR_KEY, cursor)
      }
      if (!data.has_more || !last) break
    }
    return { applied, assets, pages }
  },
}
