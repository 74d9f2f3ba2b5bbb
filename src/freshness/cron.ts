import { lookupAsset, type LookupDeps } from '../lookup'
import { PROVIDERS, isProviderName } from '../providers'
import { pollGumnutEvents } from './gumnut-feed'
import { RECHECK_PREFIX } from './pending-recheck'

const MAX_RECHECKS = 50 // per run, to stay within providers' rate limits

/** Looks again at assets last seen pending at providers without events (Spotify), until they are ready. */
export async function recheckPending(deps: LookupDeps): Promise<{ checked: number; settled: number }> {
  const kv = deps.upstream.kv
  const { keys } = await kv.list({ prefix: RECHECK_PREFIX, limit: MAX_RECHECKS })
  let settled = 0
  await Promise.all(
    keys.map(async ({ name }) => {
      const noted = await kv.get<{ provider: string; ids: Record<string, string> }>(name, 'json')
      if (!noted || !isProviderName(noted.provider)) return kv.delete(name)
      const adapter = PROVIDERS[noted.provider]
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

/** The Cron Trigger: Gumnut's event feed, then the pending re-checks. Each runs even if the other fails. */
export async function runCron(deps: LookupDeps): Promise<void> {
  const [feed, recheck] = await Promise.allSettled([pollGumnutEvents(deps), recheckPending(deps)])
  console.log(
    JSON.stringify({
      level: 'info',
      message: 'cron',
      gumnut_feed: feed.status === 'fulfilled' ? feed.value : { error: String(feed.reason) },
      recheck: recheck.status === 'fulfilled' ? recheck.value : { error: String(recheck.reason) },
    }),
  )
}
