import { type AppOptions, createApp } from './app'
import { consumeEvents } from './events/delivery'
import { runCron } from './freshness/cron'
import { lookupDeps } from './http/services'

/** A Worker (fetch, the Cron Trigger, the events queue) over one gateway, with the isolate state it was made with. */
export function createWorker(options: AppOptions) {
  const { app, gateway } = createApp(options)
  return {
    gateway,
    handler: {
      fetch: app.fetch,
      scheduled(_controller, env, ctx) {
        ctx.waitUntil(runCron(lookupDeps(gateway, env, (p) => ctx.waitUntil(p))))
      },
      // The asset events queue: fan-out to subscriptions and signed deliveries (docs/events.md).
      queue(batch, env) {
        return consumeEvents({ gateway, env }, batch)
      },
    } satisfies ExportedHandler<Env>,
  }
}
