export type LogSinkSettings = { batchLines: number; flushMs: number }

/**
 * Development only (the dev entry's `batchLogs`); production logs one line per `console.log`.
 * Writes log lines in batches: one `console.info` per `batchLines` lines or per `flushMs`, whichever
 * comes first. Each line stays one JSON object carrying its request id and level; batching only
 * spares the per-call cost of a console call (under `wrangler dev` every call crosses the DevTools
 * inspector, which alone halved cache-hit throughput in `npm run bench`). `console.info`, not
 * `console.log`: wrangler runs every `log`-level message through its stack-trace source mapper (a
 * regular expression over the whole batch) and prints `info` as it is, which took its process from
 * 45-70 to 34-40 µs of CPU per cache hit (`scripts/bench/cpu-split.mjs`). One per isolate (`IsolateState`).
 */
export class LogBuffer {
  private readonly lines: string[] = []
  private timerPending = false

  private flush(): void {
    if (this.lines.length > 0) console.info(this.lines.splice(0).join('\n'))
  }

  /** Queues one line; `waitUntil` keeps the isolate alive until the timed flush has run. */
  write(line: string, waitUntil: (p: Promise<unknown>) => void, settings: LogSinkSettings): void {
    this.lines.push(line)
    if (this.lines.length >= settings.batchLines) {
      this.flush()
      return
    }
    if (this.timerPending) return
    this.timerPending = true
    waitUntil(
      new Promise<void>((resolve) =>
        setTimeout(() => {
          this.timerPending = false
          this.flush()
          resolve()
        }, settings.flushMs),
      ),
    )
  }
}
