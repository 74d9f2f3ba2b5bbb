import { PROVIDERS } from './providers'
import { createWorker } from './worker'

/** The production Worker: the providers' real APIs, one isolate state made here. No sandbox. */
export default createWorker({ providers: PROVIDERS }).handler
