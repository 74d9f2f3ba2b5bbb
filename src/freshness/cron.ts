import { type LookupDeps, lookupAsset } from '../lookup'
import type { ProviderAdapter } from '../providers/types'
import { applyAssetEvent } from './apply-event'
import { RECHECK_PREFIX } from './pending-recheck'

const MAX_RECHECKS = 50 // per run, to stay within providers' rate limits

/** Looks again at assets last seen pending at providers without events, until they are ready. */
export async function recheckPending(deps: LookupDeps): Promise<{ checked: number; settled: number }> {
  const { kv } = deps.upstream
  const { keys } = await kv.list({ prefix: RECHECK_PREFIX, limit: MAX_RECHECKS })
  let settled = 0
  await Promise.all(
    keys.map(async ({ name }) => {
      const noted = await kv.get<{ provider: string; ids: Record<string, string> }>(name, 'json')
      const adapter = noted ? deps.providers.get(noted.provider) : undefined
      if (!noted || !adapter) return kv.delete(name)
      try {
        const outcome = await lookupAsset(deps, adapter, adapter.parse(noted.ids, new URLSearchParams()), { revalidate: true, onlyIfCached: false })
        if (outcome.entry.state !== 'processing') {
          settled += 1
          await kv.delete(name)
        }
      } catch {
        // the provider failed: try again next run
      }
    }),
  )
  return { checked: keys.length, settled }
}

/** Reads one provider's event feed once, applying each event; throws when the feed fails. */
export function pollFeed(deps: LookupDeps, adapter: ProviderAdapter): Promise<Record<string, number>> {
  if (!adapter.feed) return Promise.resolve({})
  return adapter.feed.poll({ upstream: deps.upstream, timeoutMs: deps.config.upstreamTimeoutMs, apply: (event) => applyAssetEvent(deps, adapter, event) })
}

/** Reads every provider's event feed once; a failing feed is reported, not thrown. */
export async function pollFeeds(deps: LookupDeps): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {}
  for (const adapter of deps.providers.list) {
    if (!adapter.feed || !deps.config.provider(adapter.name).configured) continue
    try {
      results[adapter.name] = await pollFeed(deps, adapter)
    } catch (err) {
      results[adapter.name] = { error: String(err) }
    }
  }
  return results
}

/** The Cron Trigger: every provider's event feed, then the pending re-checks. Each runs even if the other fails. */
export async function runCron(deps: LookupDeps): Promise<void> {
  const [feeds, recheck] = await Promise.allSettled([pollFeeds(deps), recheckPending(deps)])
  console.log(
    JSON.stringify({
      level: 'info',
      message: 'cron',
      feeds: feeds.status === 'fulfilled' ? feeds.value : { error: String(feeds.reason) },
      recheck: recheck.status === 'fulfilled' ? recheck.value : { error: String(recheck.reason) },
    }),
  )
}
