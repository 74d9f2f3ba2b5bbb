import type { AssetState } from '../providers/types'

/** Queues delays a message (`delaySeconds`) at most 12 hours. */
export const QUEUE_MAX_DELAY_S = 43_200

/** The asset event types a subscription may ask for. */
export const ASSET_EVENT_TYPES = ['asset.ready', 'asset.updated', 'asset.deleted'] as const
export type AssetEventType = (typeof ASSET_EVENT_TYPES)[number]

/**
 * What a subscriber receives (the webhook body): one change of one asset, with the record as the
 * lookup route serves it now (absent for deletions). `ping` is the test event of
 * `POST /subscriptions/{id}/test`.
 */
export type AssetEvent = {
  id: string
  type: AssetEventType | 'ping'
  occurred_at: string
  provider?: string
  /** The provider's lookup ids, as in the lookup route's path. */
  asset?: Record<string, string>
  state?: AssetState
  record?: unknown
  subscription_id?: string
}

/** One message on the events queue: an event to fan out, or one delivery of an event to one subscription. */
export type EventMessage = { kind: 'event'; event: AssetEvent } | { kind: 'delivery'; subscription: string; event: AssetEvent; redelivery?: boolean }

/** One signing secret of a subscription; a rotated-out one signs beside the new one until `expires_at`. */
export type SigningSecret = { secret: string; expires_at?: string }

/** A subscription as stored in KV (`sub:<id>`). The secrets never leave the gateway after creation. */
export type StoredSubscription = {
  id: string
  url: string
  providers: string[]
  types: AssetEventType[]
  description?: string
  created_at: string
  /** SHA-256 digest of the gateway key that created it: its scopes are checked at every delivery. */
  key_digest: string
  key_id: string
  secrets: SigningSecret[]
}

/** The metadata of a `sub:` KV key: what the fan-out needs without reading each subscription. */
export type SubscriptionMeta = { providers: string[]; types: AssetEventType[]; key_digest: string }

/** One delivery attempt, as `GET /subscriptions/{id}/deliveries` shows it. */
export type DeliveryAttempt = {
  event_id: string
  event_type: string
  attempt: number
  at: string
  /** The receiver's status, or null when no answer came (timeout, refused connection). */
  status: number | null
  ok: boolean
  latency_ms: number
  /** The first 1 KiB of the receiver's answer. */
  response: string
  error?: string
  /** The last attempt of the retry budget failed: the message went to the dead-letter queue. */
  dead_lettered?: boolean
  redelivery?: boolean
}
