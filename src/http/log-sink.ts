/**
 * Writes log lines in batches: one `console.log` per `maxLines` lines or per `flushMs`, whichever
 * comes first. Each line stays one JSON object carrying its request id; batching only spares the
 * per-call cost of `console.log` (under `wrangler dev` every call crosses the DevTools inspector,
 * which alone halved cache-hit throughput in `npm run bench`).
 */
const buffer: string[] = []
let timerPending = false

export type LogSinkSettings = { maxLines: number; flushMs: number }

function flush(): void {
  if (buffer.length > 0) console.log(buffer.splice(0).join('\n'))
}

/** Queues one line; `waitUntil` keeps the isolate alive until the timed flush has run. */
export function writeLogLine(line: string, waitUntil: (p: Promise<unknown>) => void, settings: LogSinkSettings): void {
  buffer.push(line)
  if (buffer.length >= settings.maxLines) return flush()
  if (timerPending) return
  timerPending = true
  waitUntil(
    new Promise<void>((resolve) =>
      setTimeout(() => {
        timerPending = false
        flush()
        resolve()
      }, settings.flushMs),
    ),
  )
}
