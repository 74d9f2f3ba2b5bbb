// Runs in Node before the suite: builds the static assets, as wrangler's [build] command does for dev and deploy.
// @ts-expect-error a plain .mjs script without types
import { buildAssets } from '../../scripts/assets.mjs'

export default function setup(): void {
  buildAssets()
}
