import { type AppOptions, createApp } from './app'
import { consumeEvents } from './events/delivery'
import { runCron } from './freshness/cron'
import { hitPath } from './http/hit-path'
import { lookupDeps } from './http/services'

/** A Worker (fetch, the Cron Trigger, the events queue) over one gateway, with the isolate state it was made with. */
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
      // The asset events queue: provider events to apply, fan-out to subscriptions and signed deliveries (docs/events.md).
      queue(batch, env, ctx) {
        return consumeEvents({ gateway, env, lookup: () => lookupDeps(gateway, env, (p) => ctx.waitUntil(p)) }, batch)
      },
    } satisfies ExportedHandler<Env>,
  }
}
