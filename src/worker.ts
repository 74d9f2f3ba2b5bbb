import { type AppOptions, createApp } from './app'
import { consumeEvents, consumeProviderEvents } from './events/delivery'
import { PROVIDER_EVENTS_QUEUE } from './events/provider-events'
import { runCron } from './freshness/cron'
import { hitPath } from './http/hit-path'
import { lookupDeps } from './http/services'

/** A Worker (fetch, the Cron Trigger, the events queues) over one gateway, with the isolate state it was made with. */
export function createWorker(options: AppOptions) {
  const { app, gateway } = createApp(options)
  // Fresh memory hits first (http/hit-path.ts), everything else through the router.
  const fetch =
    options.hitPath === false
      ? app.fetch
      : (request: Request, env: Env, ctx: ExecutionContext) => hitPath(gateway, request, env, ctx) ?? app.fetch(request, env, ctx)
  return {
    gateway,
    handler: {
      fetch,
      scheduled(_controller, env, ctx) {
        ctx.waitUntil(runCron(lookupDeps(gateway, env, (p) => ctx.waitUntil(p))))
      },
      // Two queues (docs/events.md): provider events to apply, paced; and the asset events queue's
      // fan-outs to subscriptions and signed deliveries. One handler, picked by the batch's queue.
      queue(batch, env, ctx) {
        const deps = { gateway, env, lookup: () => lookupDeps(gateway, env, (p) => ctx.waitUntil(p)) }
        return batch.queue === PROVIDER_EVENTS_QUEUE ? consumeProviderEvents(deps, batch) : consumeEvents(deps, batch)
      },
    } satisfies ExportedHandler<Env>,
  }
}
