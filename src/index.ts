import { createApp } from './app'
import { runCron } from './freshness/cron'
import { lookupDeps } from './http/services'

const app = createApp()

export default {
  fetch: app.fetch,
  scheduled(_controller, env, ctx) {
    const deps = lookupDeps(env, (p) => ctx.waitUntil(p), { fetch: (input, init) => fetch(input, init) })
    ctx.waitUntil(runCron(deps))
  },
} satisfies ExportedHandler<Env>
