import type { Context } from 'hono'
import type { AppEnv } from '../http/app-env'
import { keyRing } from '../links/key-ring'

/** The KV probe key: read, never written, so a health check costs one KV read. */
const KV_PROBE_KEY = 'healthz:probe'

/**
 * What `/healthz` says: the gateway answers (`status` is always ok), which version runs, which
 * providers have their credentials, and whether KV and the link signing keys are usable. Contacts no provider.
 */
export async function health(c: Context<AppEnv>) {
  const { gateway, config } = c.get('services')
  const providers: Record<string, 'configured' | 'not_configured'> = {}
  for (const { name } of gateway.providers.list) providers[name] = config.provider(name).configured ? 'configured' : 'not_configured'
  const [kv, links] = await Promise.all([
    c.env.ASSET_KV.get(KV_PROBE_KEY).then(
      () => 'ok' as const,
      () => 'unavailable' as const,
    ),
    keyRingState(c),
  ])
  const meta = c.env.CF_VERSION_METADATA
  const version = meta ? { id: meta.id, tag: meta.tag || undefined, timestamp: meta.timestamp || undefined } : undefined
  return { status: 'ok' as const, sandbox: gateway.sandbox, version, providers, kv, links }
}

async function keyRingState(c: Context<AppEnv>): Promise<'ok' | 'not_configured'> {
  const { gateway, config } = c.get('services')
  if (!config.links.signingKeys) return 'not_configured'
  try {
    await keyRing(gateway.isolate, config.links, { quiet: true })
    return 'ok'
  } catch {
    return 'not_configured'
  }
}
