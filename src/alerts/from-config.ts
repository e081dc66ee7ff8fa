/**
 * Builds alerting from the `alerts:` section of the configuration: the configured sinks
 * (webhooks, a JSON-lines file) behind an AlertGate that records every alert in the journal,
 * and, when the guards share a Redis store, a FleetAlertDedupe in front of the sinks so a fleet
 * sends one alert per actor and escalation, not one per guard. Nothing configured: no gate.
 */
import type { Action, CompiledPolicy, HarvestGuardError, Journal } from '../core/index.ts'
import type { AlertSink } from '../core/index.ts'
import type { RedisClient } from '../stores/index.ts'
import { AlertGate } from './alert-gate.ts'
import { FleetAlertDedupe } from './fleet-alert-dedupe.ts'
import { JsonLinesAlertSink } from './jsonl-alert-sink.ts'
import { WebhookAlertSink } from './webhook-alert-sink.ts'
import type { WebhookFormat } from './webhook-alert-sink.ts'

/** One webhook as the parsed config has it (`alerts.webhooks[]`). */
export interface WebhookSettings {
  readonly url: string
  /** HMAC key; a config `Secret` (or anything with `reveal()`). */
  readonly secret?: { reveal(): string } | undefined
  readonly format: WebhookFormat
  readonly timeoutMs: number
  readonly retries: number
  readonly backoffMs: number
  readonly maxBackoffMs: number
  readonly maxQueue: number
}

/** The `alerts:` section as parsed (src/config). */
export interface AlertSettings {
  readonly minAction: Exclude<Action, 'allow'>
  readonly maxActors: number
  readonly webhooks: readonly WebhookSettings[]
  readonly jsonl?: { readonly path: string } | undefined
  readonly fleetDedupe: boolean
  /** How long shutdown waits for deliveries still queued or retrying. */
  readonly drainTimeoutMs: number
}

/** What alerting needs besides its settings. */
export interface CreateAlertingOptions {
  /** Every alert is recorded here too (the journal's alerts table). */
  readonly journal?: Journal | undefined
  /** The compiled policy (fleet claims last as long as a decision of the alert's action). */
  readonly policy: CompiledPolicy
  /** The store's Redis client and key prefix: alerts are claimed there once per fleet. */
  readonly fleet?: { readonly client: RedisClient; readonly keyPrefix: string } | undefined
  /** Send webhooks (false: the JSON-lines file only, e.g. offline forensics). @default true */
  readonly webhooks?: boolean
  /** Delivery and write failures. */
  readonly onError?: (error: HarvestGuardError) => void
}

/** Result of {@link createAlerting}. */
export interface Alerting {
  /** Undefined when no sink is configured (zero config): there is nothing to subscribe. */
  readonly gate: AlertGate | undefined
  /** The sinks in use, for stats (webhooks, then the file). */
  readonly sinks: readonly AlertSink[]
  /** One line for the start-up banner (URLs shown by origin only: a Slack URL's path is a key). */
  readonly describe: string
  /**
   * Waits for queued deliveries (retries included) up to `timeoutMs` (default the settings'
   * `drainTimeoutMs`), then gives up on the
   * rest; resolves to the number of alerts still undelivered then (0: nothing lost).
   */
  close(timeoutMs?: number): Promise<number>
}

/** The origin of a URL: what a banner or log may print of a webhook address. */
export function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '[invalid url]'
  }
}

/**
 * Builds the configured alert sinks and gate.
 * @example
 * const alerting = createAlerting(config.alerts, { journal, policy })
 * if (alerting.gate) engine.onDecision((d) => alerting.gate?.consider(d))
 * // on shutdown: await alerting.close(10_000)
 */
export function createAlerting(settings: AlertSettings, options: CreateAlertingOptions): Alerting {
  const onError = options.onError ?? (() => {})
  const sinks: AlertSink[] = []
  const webhooks: WebhookAlertSink[] = []
  const parts: string[] = []
  if (options.webhooks !== false) {
    for (const w of settings.webhooks) {
      const sink = new WebhookAlertSink({
        url: w.url,
        ...(w.secret === undefined ? {} : { secret: w.secret.reveal() }),
        format: w.format,
        maxAttempts: w.retries + 1,
        baseDelayMs: w.backoffMs,
        maxDelayMs: w.maxBackoffMs,
        maxQueue: w.maxQueue,
        timeoutMs: w.timeoutMs,
        onError,
      })
      webhooks.push(sink)
      sinks.push(sink)
      parts.push(
        `webhook ${webhookOrigin(w.url)} (${w.format}${w.secret === undefined ? '' : ', signed'})`,
      )
    }
  }
  if (settings.jsonl !== undefined) {
    sinks.push(new JsonLinesAlertSink({ path: settings.jsonl.path, onError }))
    parts.push(`file ${settings.jsonl.path}`)
  }
  if (sinks.length === 0) {
    return { gate: undefined, sinks, describe: 'alerts off', close: async () => 0 }
  }
  const dedupe =
    options.fleet !== undefined && settings.fleetDedupe
      ? new FleetAlertDedupe({
          client: options.fleet.client,
          keyPrefix: options.fleet.keyPrefix,
          policy: options.policy,
          sinks,
          onError,
        })
      : undefined
  const gate = new AlertGate({
    sinks: dedupe === undefined ? sinks : [dedupe],
    ...(options.journal === undefined ? {} : { journal: options.journal }),
    minAction: settings.minAction,
    maxActors: settings.maxActors,
  })
  const describe =
    `alerts from ${settings.minAction} to ${parts.join(', ')}` +
    (dedupe === undefined ? '' : ' (once per fleet, claimed in Redis)')
  return {
    gate,
    sinks,
    describe,
    async close(timeoutMs = settings.drainTimeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const closed = gate.close().then(() => true)
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const inTime = await Promise.race([closed, late])
      clearTimeout(timer)
      if (inTime) return 0
      // deliveries still retrying at the deadline: give them up so the process can exit
      const lost = await Promise.all(webhooks.map((w) => w.abandon()))
      await closed
      return lost.reduce((a, b) => a + b, 0)
    },
  }
}
