import { env } from 'cloudflare:workers'
import { beforeEach } from 'vitest'
import spec from '../../src/generated/asset-edge.openapi.json'
import { SPEC_KEY } from '../../src/generated/spec-key'

// What `npm run spec:publish` does before dev and deploy: the gateway serves /openapi.json from KV.
beforeEach(async () => {
  await env.ASSET_KV.put(SPEC_KEY, `${JSON.stringify(spec, null, 2)}\n`)
})
