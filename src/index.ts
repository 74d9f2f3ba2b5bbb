import { PROVIDERS } from './providers'
import { createWorker } from './worker'

/** The coordinator of one provider account (Durable Object class, bound as PROVIDER_GATE). */
export { ProviderGate } from './coordinator/gate'

/** The production Worker: the providers' real APIs, one isolate state made here. No sandbox. */
export default createWorker({ providers: PROVIDERS }).handler
