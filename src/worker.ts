import { type AppOptions, createApp } from './app'
import { runCron } from './freshness/cron'
import { lookupDeps } from './http/services'

/** A Worker (fetch and the Cron Trigger) over one gateway, with the isolate state it was made with. */
export function createWorker(options: AppOptions) {
  const { app, gateway } = createApp(options)
  return {
    gateway,
    handler: {
      fetch: app.fetch,
      scheduled(_controller, env, ctx) {
        ctx.waitUntil(runCron(lookupDeps(gateway, env, (p) => ctx.waitUntil(p))))
      },
    } satisfies ExportedHandler<Env>,
  }
}
