/**
 * Posts alerts to an HTTP endpoint (a SIEM, PagerDuty bridge, Slack incoming webhook).
 *
 * `send` only enqueues: delivery happens in the background, one request at a time, with retries
 * on network errors, 5xx and 429 (exponential backoff with jitter, so a fleet of guards that lost
 * the receiver together does not hammer it in lockstep when it returns). The queue is bounded:
 * during a long outage the oldest alerts are dropped and counted, memory stays flat.
 * With a `secret`, each body is signed: `X-HarvestGuard-Signature: sha256=<hex HMAC-SHA256>`.
 */
import { createHmac } from 'node:crypto'
import { request } from 'undici'
import type { Dispatcher } from 'undici'
import { HarvestGuardError } from '../core/index.ts'
import type { Alert, AlertSink } from '../core/index.ts'

/** Code when an alert could not be delivered after every attempt (or was refused with a 4xx). */
export const ALERT_DELIVERY_FAILED = 'HG_ALERT_DELIVERY_FAILED'

/** Body formats: the alert as JSON, or a Slack-compatible `{text, blocks}` message. */
export const WEBHOOK_FORMATS = ['json', 'slack'] as const
/** One of {@link WEBHOOK_FORMATS}. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number]

/** Header carrying the body signature. */
export const SIGNATURE_HEADER = 'x-harvestguard-signature'

/** What a retry looks like, for logs and tests. */
export interface WebhookRetry {
  readonly alertId: string
  /** Attempt that failed, 1-based. */
  readonly attempt: number
  /** Wait before the next attempt. */
  readonly delayMs: number
  /** HTTP status of the failed attempt, 0 on a network error. */
  readonly status: number
}

/** Options of {@link WebhookAlertSink}. */
export interface WebhookAlertSinkOptions {
  /** Endpoint to POST to. */
  readonly url: string
  /** HMAC-SHA256 key for the signature header; unsigned when absent. */
  readonly secret?: string
  /** Body format. @default 'json' */
  readonly format?: WebhookFormat
  /** Attempts per alert, the first included. @default 5 */
  readonly maxAttempts?: number
  /** Backoff before the 2nd attempt; doubles each time, capped by maxDelayMs. @default 500 */
  readonly baseDelayMs?: number
  /** @default 30000 */
  readonly maxDelayMs?: number
  /** Alerts waiting for delivery; beyond, the oldest are dropped. @default 1000 */
  readonly maxQueue?: number
  /** Per-request timeout (headers and body); 0 disables it. @default 5000 */
  readonly timeoutMs?: number
  /** undici dispatcher (proxies, custom TLS). @default the global one */
  readonly dispatcher?: Dispatcher
  /** Given up or dropped alerts. @default ignore */
  readonly onError?: (error: HarvestGuardError) => void
  /** Called when an attempt failed and another is scheduled. */
  readonly onRetry?: (retry: WebhookRetry) => void
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number
}

/** Delivery counters, for metrics. */
export interface WebhookStats {
  readonly queued: number
  readonly delivered: number
  readonly retries: number
  readonly failed: number
  readonly dropped: number
  /** Alerts given up by {@link WebhookAlertSink.abandon} (shutdown deadline). */
  readonly abandoned: number
}

/** HMAC-SHA256 of `body` with `secret`, as the header value `sha256=<hex>`. */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** A Slack-compatible message (`text` fallback plus Block Kit `blocks`) for an alert. */
export function slackPayload(alert: Alert): { text: string; blocks: unknown[] } {
  const text = `HarvestGuard: ${alert.message}`
  const fields = alert.readings
    .filter((r) => r.contribution > 0)
    .slice(0, 8)
    .map((r) => `• *${r.signal}* +${r.contribution}: ${r.note}`)
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: `${alert.action} ${alert.actor}`.slice(0, 150) },
    },
    { type: 'section', text: { type: 'mrkdwn', text } },
  ]
  if (fields.length > 0)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: fields.join('\n') } })
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `principal ${alert.principal} · was ${alert.previousAction} · score ${alert.score} · ${new Date(alert.timeMs).toISOString()} · id ${alert.id}`,
      },
    ],
  })
  return { text, blocks }
}

/** Backoff before attempt `attempt + 1`: base·2^(attempt-1), capped, with "equal jitter". */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + (ceiling / 2) * random)
}

/** {@link AlertSink} posting to a webhook with signed bodies, retries and a bounded queue. */
export class WebhookAlertSink implements AlertSink {
  readonly #url: string
  readonly #secret: string | undefined
  readonly #format: WebhookFormat
  readonly #maxAttempts: number
  readonly #baseDelayMs: number
  readonly #maxDelayMs: number
  readonly #maxQueue: number
  readonly #timeoutMs: number
  readonly #dispatcher: Dispatcher | undefined
  readonly #onError: (error: HarvestGuardError) => void
  readonly #onRetry: (retry: WebhookRetry) => void
  readonly #random: () => number
  readonly #queue: Alert[] = []
  #pump: Promise<void> | undefined
  #closed = false
  #delivered = 0
  #retries = 0
  #failed = 0
  #dropped = 0
  #abandoned = 0
  /** The alert being delivered (between attempts too). */
  #current: Alert | undefined
  /** Aborts the request in flight and the backoff wait (abandon). */
  #abort = new AbortController()

  constructor(options: WebhookAlertSinkOptions) {
    this.#url = new URL(options.url).toString()
    this.#secret = options.secret
    this.#format = options.format ?? 'json'
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5)
    this.#baseDelayMs = options.baseDelayMs ?? 500
    this.#maxDelayMs = options.maxDelayMs ?? 30_000
    this.#maxQueue = Math.max(1, options.maxQueue ?? 1000)
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#dispatcher = options.dispatcher
    this.#onError = options.onError ?? (() => {})
    this.#onRetry = options.onRetry ?? (() => {})
    this.#random = options.random ?? Math.random
  }

  /** Delivery counters. */
  get stats(): WebhookStats {
    return {
      queued: this.#queue.length,
      delivered: this.#delivered,
      retries: this.#retries,
      failed: this.#failed,
      dropped: this.#dropped,
      abandoned: this.#abandoned,
    }
  }

  send(alert: Alert): void {
    if (this.#closed) return
    this.#queue.push(alert)
    if (this.#queue.length > this.#maxQueue) {
      const lost = this.#queue.shift()
      this.#dropped++
      this.#report(`alert ${lost?.id} dropped: queue full (${this.#maxQueue})`)
    }
    this.#pump ??= this.#run().finally(() => {
      this.#pump = undefined
    })
  }

  #report(message: string, cause?: unknown): void {
    try {
      this.#onError(
        new HarvestGuardError(ALERT_DELIVERY_FAILED, `webhook ${this.#url}: ${message}`, { cause }),
      )
    } catch {
      // an error handler that throws must not stop deliveries
    }
  }

  async #run(): Promise<void> {
    for (let alert = this.#queue.shift(); alert !== undefined; alert = this.#queue.shift()) {
      this.#current = alert
      await this.#deliver(alert)
      this.#current = undefined
    }
  }

  /** Alerts not yet delivered or given up: queued plus the one being delivered. */
  get pending(): number {
    return this.#queue.length + (this.#current === undefined ? 0 : 1)
  }

  #body(alert: Alert): string {
    return JSON.stringify(this.#format === 'slack' ? slackPayload(alert) : alert)
  }

  async #deliver(alert: Alert): Promise<void> {
    const body = this.#body(alert)
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'harvestguard-webhook',
    }
    if (this.#secret !== undefined) headers[SIGNATURE_HEADER] = signBody(this.#secret, body)
    for (let attempt = 1; ; attempt++) {
      let status = 0
      let cause: unknown
      try {
        const response = await request(this.#url, {
          method: 'POST',
          body,
          headers,
          headersTimeout: this.#timeoutMs,
          bodyTimeout: this.#timeoutMs,
          signal: this.#abort.signal,
          ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }),
        })
        status = response.statusCode
        await response.body.dump()
      } catch (error) {
        cause = error
      }
      if (status >= 200 && status < 300) {
        this.#delivered++
        return
      }
      if (this.#abort.signal.aborted) return // abandoned: counted there
      const retryable = status === 0 || status === 429 || status >= 500
      if (!retryable || attempt >= this.#maxAttempts) {
        this.#failed++
        const why =
          status === 0
            ? `network error (${cause instanceof Error ? cause.message : String(cause)})`
            : `HTTP ${status}`
        this.#report(`alert ${alert.id} not delivered after ${attempt} attempt(s): ${why}`, cause)
        return
      }
      const delayMs = backoffDelayMs(attempt, this.#baseDelayMs, this.#maxDelayMs, this.#random())
      this.#retries++
      this.#onRetry({ alertId: alert.id, attempt, delayMs, status })
      const signal = this.#abort.signal
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delayMs)
        function done(): void {
          clearTimeout(timer)
          signal.removeEventListener('abort', done)
          resolve()
        }
        signal.addEventListener('abort', done, { once: true })
      })
      if (signal.aborted) return
    }
  }

  /** Stops accepting alerts and resolves once the queued ones are delivered or given up. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#pump
  }

  /**
   * Gives up at once on every alert not yet delivered (a shutdown deadline passed): aborts the
   * request in flight and the backoff wait, reports and counts them. Resolves to how many.
   */
  async abandon(): Promise<number> {
    this.#closed = true
    const lost = this.pending
    this.#queue.length = 0
    this.#abort.abort()
    await this.#pump
    if (lost > 0) {
      this.#abandoned += lost
      this.#report(`${lost} alert(s) abandoned at shutdown, not delivered`)
    }
    return lost
  }
}
