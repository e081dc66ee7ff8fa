/**
 * One alert per actor and escalation across a FLEET of guards. Each guard's AlertGate already
 * keeps its own alerts to one per actor and escalation, but every guard of a fleet judges the
 * shared ledgers and takes its own decision on the same harvester, so without this the operator
 * got the same alert once per guard. This sink sits between a guard's AlertGate and its real
 * sinks: before forwarding an alert it claims it in Redis with `SET key NX PX ttl`, keyed by the
 * actor and the action it escalated to, and forwards only when this guard won the claim.
 *
 * The claim lives as long as a decision of that action does (the policy's ttl for it): a later
 * escalation (another action, another key) or a return after the decision lapsed alerts again,
 * as with a single guard. Actor ids come from each guard's own actor graph; a principal linked
 * differently on two guards may be alerted once per id.
 *
 * A client still connecting is waited for (within `timeoutMs`): a guard's first alert, often
 * raised by its first requests, would otherwise find the store's client (no offline queue)
 * refusing commands and go out unclaimed from every guard.
 *
 * Redis unreachable: the alert is forwarded anyway (a duplicate is better than a silent
 * harvester) and the failure reported through `onError`. One command per alert, never per
 * request; nothing on the request path waits for it.
 */
import { actionRank, HarvestGuardError } from '../core/index.ts'
import type { Alert, AlertSink, CompiledPolicy } from '../core/index.ts'
import { STORE_UNAVAILABLE } from '../stores/index.ts'
import type { RedisClient } from '../stores/index.ts'

/** Options of {@link FleetAlertDedupe}. */
export interface FleetAlertDedupeOptions {
  /** The fleet's Redis client (the one the RedisLedgerStore uses will do); the caller owns it. */
  readonly client: RedisClient
  /** Where alerts this guard wins go. */
  readonly sinks: readonly AlertSink[]
  /** The compiled policy: a claim lasts as long as a decision of the alert's action (`ttl`). */
  readonly policy: CompiledPolicy
  /** The fleet's key prefix (the store's `keyPrefix`). @default 'hg:' */
  readonly keyPrefix?: string
  /** A claim Redis did not answer within this is treated as failed. @default 2000 */
  readonly timeoutMs?: number
  /** A claim Redis did not answer (HG_STORE_UNAVAILABLE; the alert was forwarded anyway). */
  readonly onError?: (error: HarvestGuardError) => void
}

/** Counters of a {@link FleetAlertDedupe}. */
export interface FleetAlertDedupeStats {
  /** Alerts this guard won and forwarded. */
  readonly forwarded: number
  /** Alerts another guard had already sent. */
  readonly suppressed: number
  /** Claims that failed (alert forwarded anyway). */
  readonly failed: number
}

/**
 * An AlertSink that forwards an alert only if no other guard of the fleet sent it already.
 *
 * @example
 * const gate = new AlertGate({
 *   sinks: [new FleetAlertDedupe({ client, policy, sinks: [new WebhookAlertSink({ url })] })],
 * })
 */
export class FleetAlertDedupe implements AlertSink {
  readonly #client: RedisClient
  readonly #sinks: readonly AlertSink[]
  readonly #ttlMs: Float64Array
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #onError: (error: HarvestGuardError) => void
  readonly #pending = new Set<Promise<void>>()
  #forwarded = 0
  #suppressed = 0
  #failed = 0

  constructor(options: FleetAlertDedupeOptions) {
    this.#client = options.client
    this.#sinks = options.sinks
    this.#ttlMs = options.policy.ttlMs
    this.#prefix = options.keyPrefix ?? 'hg:'
    this.#timeoutMs = options.timeoutMs ?? 2000
    this.#onError = options.onError ?? (() => {})
  }

  get stats(): FleetAlertDedupeStats {
    return { forwarded: this.#forwarded, suppressed: this.#suppressed, failed: this.#failed }
  }

  /** The claim's key: one per actor and action (the hash tag keeps an actor's claims together). */
  key(alert: Alert): string {
    return `${this.#prefix}{alert:${alert.actor}}:${alert.action}`
  }

  send(alert: Alert): void {
    const ttl = Math.max(1000, Math.round(this.#ttlMs[actionRank(alert.action)] ?? 3_600_000))
    let timer: ReturnType<typeof setTimeout> | undefined
    let onReady: (() => void) | undefined
    // A client still connecting (a guard's first seconds) refuses commands at once when it has
    // no offline queue (the store's client): wait for it within the same timeout.
    const client = this.#client
    const ready =
      client.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            onReady = resolve
            client.once('ready', resolve)
          })
    const claim = Promise.race([
      ready.then(() => client.set(this.key(alert), alert.id, 'PX', ttl, 'NX')),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${this.#timeoutMs} ms`)),
          this.#timeoutMs,
        )
      }),
    ])
    const done = claim.then(
      (won) => {
        if (won === 'OK') this.#forward(alert)
        else this.#suppressed++
      },
      (cause: unknown) => {
        this.#failed++
        this.#forward(alert)
        try {
          this.#onError(
            new HarvestGuardError(
              STORE_UNAVAILABLE,
              `alert ${alert.id} for ${alert.actor} sent without a fleet claim: ${cause instanceof Error ? cause.message : String(cause)}`,
              { cause },
            ),
          )
        } catch {
          // reporting must not lose the alert
        }
      },
    )
    const tracked = done.finally(() => {
      if (timer !== undefined) clearTimeout(timer)
      if (onReady !== undefined) client.off('ready', onReady)
      this.#pending.delete(tracked)
    })
    this.#pending.add(tracked)
  }

  #forward(alert: Alert): void {
    this.#forwarded++
    for (const sink of this.#sinks) sink.send(alert)
  }

  /** Waits for the claims in flight, then closes the sinks (not the client: the caller's). */
  async close(): Promise<void> {
    await Promise.all(this.#pending)
    await Promise.all(this.#sinks.map((s) => s.close()))
  }
}
