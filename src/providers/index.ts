import { frameio } from './frameio'
import { gumnut } from './gumnut'
import { spotify } from './spotify'
import { sync } from './sync'
import type { ProviderAdapter, ProviderName } from './types'

/** Every provider the gateway fronts. A fifth is one spec, one codegen run and one adapter here. */
export const PROVIDERS: Readonly<Record<ProviderName, ProviderAdapter>> = { spotify, sync, gumnut, frameio }

export function isProviderName(name: string): name is ProviderName {
  return Object.hasOwn(PROVIDERS, name)
}
