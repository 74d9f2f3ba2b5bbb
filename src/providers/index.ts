import { frameio } from './frameio'
import { gumnut } from './gumnut'
import { spotify } from './spotify'
import { sync } from './sync'
import { providerRegistry } from './types'

/**
 * Every provider the gateway fronts: the one list routes, cron, webhooks, links, policy and
 * redaction read. A fifth provider is one spec, one codegen run, one folder and one line here
 * (plus one in `catalog.ts` for the scripts and one in `sandboxes.ts` for `npm run dev`);
 * see docs/adding-a-provider.md.
 */
export const PROVIDERS = providerRegistry([spotify, sync, gumnut, frameio])
