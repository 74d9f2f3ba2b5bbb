/**
 * The providers' plain facts (`meta.ts` of each folder), for the scripts (`npm run dev`, `keys`,
 * `link`, `webhook`), which Node loads straight from this file: imports name their `.ts` files,
 * and nothing here but data. Lists the same providers as `index.ts` (a test checks).
 */
import * as frameio from './frameio/meta.ts'
import * as gumnut from './gumnut/meta.ts'
import * as spotify from './spotify/meta.ts'
import * as sync from './sync/meta.ts'

export const CATALOG = [spotify, sync, gumnut, frameio].map(({ meta, sandboxEndpoints, sandboxSecrets }) => ({ ...meta, sandboxEndpoints, sandboxSecrets }))

/** The providers this build ships. */
export type ProviderName = (typeof spotify | typeof sync | typeof gumnut | typeof frameio)['meta']['name']
