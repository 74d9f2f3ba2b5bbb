import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { Webhook } from 'standardwebhooks'
import { MAX_ATTEMPTS } from '../src/events/delivery'
import { PROVIDER_EVENTS_QUEUE } from '../src/events/provider-events'
import { lookupDeps } from '../src/http/services'
import { worldWorker } from './helpers'

/** One message waiting on a test queue. */
type Pending = { id: string; body: unknown; attempts: number }

/**
 * One queue as the tests play it: a producer binding that keeps what is sent, and a pump that
 * hands it to the Worker's `queue` handler in batches as Cloudflare Queues would — acked messages
 * leave, retried ones come back with `attempts + 1` (their `delaySeconds` noted), and a message
 * retried past `max_retries` (wrangler.toml: MAX_ATTEMPTS − 1, both queues) goes to the dead-letter list.
 */
export class TestQueue {
  pending: Pending[] = []
  readonly deadLetters: unknown[] = []
  readonly delays: number[] = []
  /** The `delaySeconds` each send asked for (0 when none), in order. */
  readonly sendDelays: number[] = []
  /** Sends (or batch sends) still to refuse, as a queue that is down would. */
  failSends = 0
  private seq = 0

  /** `name` and `batchSize`: the queue's name and `max_batch_size` in wrangler.toml. */
  constructor(
    readonly name: string,
    readonly batchSize: number,
  ) {}

  readonly binding = {
    send: async (body: unknown, options?: QueueSendOptions) => {
      this.refuseIfDown()
      this.sendDelays.push(options?.delaySeconds ?? 0)
      this.pending.push({ id: `${this.name}-m${++this.seq}`, body: structuredClone(body), attempts: 1 })
    },
    sendBatch: async (messages: Iterable<MessageSendRequest>) => {
      this.refuseIfDown()
      for (const m of messages) await this.binding.send(m.body, { delaySeconds: m.delaySeconds ?? 0 })
    },
  } as unknown as Queue

  private refuseIfDown(): void {
    if (this.failSends <= 0) return
    this.failSends -= 1
    throw new Error('Queue send failed: the queue is unavailable (test)')
  }

  /**
   * Takes the next batch (up to `max_batch_size`) and runs `handler.queue` on it with `env`;
   * resolves once the handler has finished and its acks and retries are applied. Delays are noted,
   * not waited for. False when nothing was pending.
   */
  async pumpOnce(handler: ReturnType<typeof worldWorker>['handler'], env: Env): Promise<boolean> {
    if (this.pending.length === 0) return false
    const taken = this.pending.splice(0, this.batchSize)
    const batch = createMessageBatch(
      this.name,
      taken.map((m) => ({ id: m.id, timestamp: Date.now(), attempts: m.attempts, body: m.body })),
    )
    // The test batch does not keep `delaySeconds`: note it on the way through.
    const delays = new Map<string, number | undefined>()
    for (const message of batch.messages) {
      const retry = message.retry.bind(message)
      Object.defineProperty(message, 'retry', {
        value: (options?: QueueRetryOptions) => {
          delays.set(message.id, options?.delaySeconds)
          retry(options)
        },
      })
    }
    const ctx = createExecutionContext()
    await handler.queue(batch, env, ctx)
    const result = await getQueueResult(batch, ctx)
    const retried = new Map(result.retryMessages.map((r) => [r.msgId, delays.get(r.msgId)]))
    for (const m of taken) {
      if (!retried.has(m.id)) continue
      this.delays.push(retried.get(m.id) ?? 0)
      if (m.attempts >= MAX_ATTEMPTS) this.deadLetters.push(m.body)
      else this.pending.push({ ...m, attempts: m.attempts + 1 })
    }
    return true
  }
}

/**
 * The Worker's two queues as the tests play them (wrangler.toml): `events` (`asset-events`:
 * fan-outs and deliveries) and `providerEvents` (`asset-provider-events`: providers' own events
 * until applied), each a `TestQueue` with its own consumer.
 */
export class TestQueues {
  readonly events = new TestQueue('asset-events', 50)
  readonly providerEvents = new TestQueue(PROVIDER_EVENTS_QUEUE, 10)

  /** The env every part of the test shares: the real KV, these queues as `ASSET_EVENTS` and `PROVIDER_EVENTS`. */
  env(patch: Partial<Env> = {}): Env {
    return { ...env, ASSET_EVENTS: this.events.binding, PROVIDER_EVENTS: this.providerEvents.binding, ...patch } as Env
  }

  /** What the dead-letter queues hold, both queues. */
  get deadLetters(): unknown[] {
    return [...this.providerEvents.deadLetters, ...this.events.deadLetters]
  }

  /**
   * Runs the consumers until both queues are empty (at most `rounds` rounds), with `patch` on their
   * env. Each round takes one batch from each queue that has messages and runs them side by side,
   * as Cloudflare runs each queue's consumer on its own. Delays are noted, not waited for.
   */
  async drain(receiver: typeof fetch, rounds = 1000, patch: Partial<Env> = {}): Promise<void> {
    const { handler } = worldWorker({ fetch: receiver })
    for (let round = 0; round < rounds; round++) {
      const ran = await Promise.all([this.providerEvents, this.events].map((queue) => queue.pumpOnce(handler, this.env(patch))))
      if (!ran.some(Boolean)) break
    }
  }

  /** Lookup services over these queues, for cron work (feeds, re-checks); `settled` waits for their background work. */
  cronDeps(patch: Partial<Env> = {}, fetcher?: typeof fetch) {
    const ctx = createExecutionContext()
    const { gateway } = worldWorker(fetcher ? { fetch: fetcher } : {})
    return { deps: lookupDeps(gateway, this.env(patch), (p) => ctx.waitUntil(p)), settled: () => waitOnExecutionContext(ctx) }
  }
}

export type Received = { id: string; headers: Record<string, string>; event: Record<string, unknown> & { id: string; type: string } }

/**
 * A subscriber at `https://hooks.test/…`: verifies every delivery with the `standardwebhooks`
 * package (not the gateway's signing code) and keeps it; `answer` picks its status per call.
 */
export function receiver(secrets: () => string[], answer: (n: number) => number | 'hang' = () => 204) {
  const received: Received[] = []
  const refused: string[] = []
  let calls = 0
  const fetcher: typeof fetch = async (input, init) => {
    const request = new Request(input, init)
    if (new URL(request.url).origin !== 'https://hooks.test') throw new Error(`unexpected outbound call to ${request.url}`)
    calls += 1
    const body = await request.text()
    const headers = Object.fromEntries(['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, request.headers.get(h) ?? '']))
    const verified = secrets().some((secret) => {
      try {
        new Webhook(secret).verify(body, headers)
        return true
      } catch {
        return false
      }
    })
    if (!verified) {
      refused.push(body)
      return new Response('bad signature', { status: 401 })
    }
    received.push({ id: headers['webhook-id'] ?? '', headers, event: JSON.parse(body) as Received['event'] })
    const status = answer(calls)
    if (status === 'hang') {
      // Never answers: only the gateway's own deadline ends the wait (the timer keeps workerd from calling it hung).
      return new Promise<Response>((_, reject) => {
        const timer = setTimeout(() => reject(new Error('the receiver gave up first')), 30_000)
        request.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(request.signal.reason)
        })
      })
    }
    return new Response(status === 204 ? null : `answer ${calls} ${'x'.repeat(2000)}`, { status })
  }
  return { fetcher, received, refused, calls: () => calls }
}
