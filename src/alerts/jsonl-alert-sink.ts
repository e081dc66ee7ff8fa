/**
 * Appends alerts to a file, one JSON object per line: the simplest sink, for log shippers and
 * `tail -f`. Appends (never truncates), so restarts keep the history.
 */
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { HarvestGuardError } from '../core/index.ts'
import type { Alert, AlertSink } from '../core/index.ts'

/** Code when the alert file cannot be written. */
export const ALERT_FILE_FAILED = 'HG_ALERT_FILE_FAILED'

/** Options of {@link JsonLinesAlertSink}. */
export interface JsonLinesAlertSinkOptions {
  /** File to append to; created if missing. */
  readonly path: string
  /** Write failures (the caller of `send` never sees them). @default ignore */
  readonly onError?: (error: HarvestGuardError) => void
}

/** {@link AlertSink} appending JSON lines to a file. */
export class JsonLinesAlertSink implements AlertSink {
  readonly #stream: WriteStream
  readonly #path: string
  readonly #onError: (error: HarvestGuardError) => void
  #failed = false
  #closed = false

  constructor(options: JsonLinesAlertSinkOptions) {
    this.#path = options.path
    this.#onError = options.onError ?? (() => {})
    this.#stream = createWriteStream(options.path, { flags: 'a', encoding: 'utf8' })
    this.#stream.on('error', (cause) => {
      this.#failed = true
      this.#onError(
        new HarvestGuardError(
          ALERT_FILE_FAILED,
          `${this.#path}: cannot append alerts: ${cause.message}`,
          {
            cause,
          },
        ),
      )
    })
  }

  send(alert: Alert): void {
    if (this.#closed || this.#failed) return
    this.#stream.write(`${JSON.stringify(alert)}\n`)
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve()
    this.#closed = true
    return new Promise((resolve) => {
      if (this.#failed) return resolve()
      this.#stream.once('error', () => resolve())
      this.#stream.end(() => resolve())
    })
  }
}
