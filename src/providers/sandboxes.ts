import { frameioSandbox } from './frameio/sandbox'
import { gumnutSandbox } from './gumnut/sandbox'
import { spotifySandbox } from './spotify/sandbox'
import { syncSandbox } from './sync/sandbox'

/** Every provider's fake upstream, for the dev entry point only (src/dev.ts): never in production. */
export const SANDBOXES = [spotifySandbox, syncSandbox, gumnutSandbox, frameioSandbox]
