import type { Config } from '../config'
import type { IsolateState } from '../isolate-state'
import type { ProviderGate } from './gate'
import { accountOf, GateSession } from './session'

export { ProviderGate } from './gate'
export { type GateNote, GateSession, GateUnavailable } from './session'

/** What a provider tells the coordinator: its name and the secret that names its account. */
export type GatedProvider = { readonly name: string; readonly accountSecret?: string }

/**
 * The gate session for one load from `provider`, or undefined when there is none to ask: no
 * `PROVIDER_GATE` binding, or a provider that needs no coordination (no rate limit, no OAuth
 * token, no single flight) — such a provider never calls the object.
 */
export async function openGate(
  deps: { env: Env; isolate: IsolateState; scope: string; waitUntil: (promise: Promise<unknown>) => void },
  provider: GatedProvider,
  config: Config,
): Promise<GateSession | undefined> {
  const namespace: DurableObjectNamespace<ProviderGate> | undefined = deps.env.PROVIDER_GATE
  const settings = config.provider(provider.name)
  if (!namespace || !settings.coordinated) return undefined
  const credential: unknown = provider.accountSecret ? Reflect.get(deps.env, provider.accountSecret) : undefined
  const account = await accountOf(deps.isolate, typeof credential === 'string' ? credential : '')
  return new GateSession({
    namespace,
    name: `${deps.scope}${provider.name}:${account}`,
    provider: provider.name,
    isolate: deps.isolate,
    timeoutMs: config.gateTimeoutMs,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    singleFlight: settings.singleFlight,
    waitUntil: deps.waitUntil,
  })
}
