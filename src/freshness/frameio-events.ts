import type { EventEffect } from './apply-event'

/** Frame.io webhook event types and their effect; any other `asset.*` only invalidates. */
const EFFECTS: Record<string, EventEffect> = {
  'asset.ready': 'rewarm',
  'asset.updated': 'rewarm',
  'asset.label.updated': 'rewarm',
  'asset.versioned': 'rewarm',
  'asset.deleted': 'deleted',
  'asset.created': 'invalidate',
  'asset.copied': 'invalidate',
}

/** The cache effect of a Frame.io event type, or undefined for events asset-edge ignores. */
export function frameioEffect(type: string): EventEffect | undefined {
  if (Object.hasOwn(EFFECTS, type)) return EFFECTS[type]
  return type.startsWith('asset.') ? 'invalidate' : undefined
}
