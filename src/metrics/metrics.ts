/**
 * HarvestGuard's Prometheus metrics (prom-client), one registry per guard.
 *
 * Hot-path counts (events, evictions, tracked principals) are NOT incremented per request:
 * the engine already counts them, so the registry reads them at scrape time through `sources`
 * and turns the cumulative numbers into counters. Rare events (decisions, sync batches, store
 * errors, alerts) are recorded directly.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { ACTIONS } from '../core/index.ts'
import type { Action } from '../core/index.ts'

/** Cumulative figures read at scrape time. Each returns a total since start (never a delta). */
export interface MetricsSources {
  /** Events the engine accounted. */
  readonly events?: () => number
  /** Principals with a ledger in memory now. */
  readonly trackedPrincipals?: () => number
  /** Ledgers evicted by the memory cap. */
  readonly evictions?: () => number
  /** Deltas waiting for the store (grows during a Redis outage). */
  readonly queuedDeltas?: () => number
  /** Milliseconds since the last successful sync with the shared store, undefined if none yet. */
  readonly syncAgeMs?: () => number | undefined
}

/** Options of {@link HarvestGuardMetrics}. */
export interface MetricsOptions {
  /** Also export Node process metrics (CPU, heap, event loop lag). @default true */
  readonly defaultMetrics?: boolean
  /** Registry to register in. @default a new one */
  readonly registry?: Registry
  readonly sources?: MetricsSources
}

/** Names of every metric this module exports, for docs and tests. */
export const METRIC_NAMES = [
  'harvestguard_events_total',
  'harvestguard_decisions_total',
  'harvestguard_tracked_principals',
  'harvestguard_evictions_total',
  'harvestguard_sync_lag_seconds',
  'harvestguard_sync_batch_size',
  'harvestguard_sync_duration_seconds',
  'harvestguard_sync_queued_deltas',
  'harvestguard_store_errors_total',
  'harvestguard_alerts_total',
  'harvestguard_alert_delivery_failures_total',
  'harvestguard_journal_errors_total',
] as const

/** Store operations an error can come from. */
export const STORE_OPERATIONS = ['push', 'pull', 'connect'] as const
/** One of {@link STORE_OPERATIONS}. */
export type StoreOperation = (typeof STORE_OPERATIONS)[number]

function counterFromTotal(read: (() => number) | undefined) {
  let seen = 0
  return function (this: Counter) {
    if (read === undefined) return
    const total = read()
    // a restarted engine may report a smaller total: counters only go up, so re-base
    if (total > seen) this.inc(total - seen)
    seen = total
  }
}

/**
 * The registry and the metrics of one guard.
 *
 * @example
 * const metrics = new HarvestGuardMetrics({ sources: { events: () => engine.stats.events } })
 * engine.onDecision((d) => metrics.decision(d.action))
 */
export class HarvestGuardMetrics {
  readonly registry: Registry
  /** Metrics filled from `sources` at scrape time. */
  readonly events: Counter
  readonly trackedPrincipals: Gauge
  readonly evictions: Counter
  readonly syncLag: Gauge
  readonly syncQueued: Gauge
  readonly #decisions: Counter<'action'>
  readonly #syncBatch: Histogram
  readonly #syncDuration: Histogram
  readonly #storeErrors: Counter<'operation'>
  readonly #alerts: Counter<'action'>
  readonly #alertFailures: Counter
  readonly #journalErrors: Counter

  constructor(options: MetricsOptions = {}) {
    const registry = options.registry ?? new Registry()
    this.registry = registry
    const sources = options.sources ?? {}
    const registers = [registry]
    this.events = new Counter({
      name: 'harvestguard_events_total',
      help: 'Events (requests or log lines) the engine accounted.',
      registers,
      collect: counterFromTotal(sources.events),
    })
    this.#decisions = new Counter({
      name: 'harvestguard_decisions_total',
      help: 'Decisions taken, by action (renewals included).',
      labelNames: ['action'],
      registers,
    })
    for (const action of ACTIONS) this.#decisions.inc({ action }, 0)
    const tracked = sources.trackedPrincipals
    this.trackedPrincipals = new Gauge({
      name: 'harvestguard_tracked_principals',
      help: 'Principals with a ledger in memory.',
      registers,
      collect() {
        if (tracked !== undefined) this.set(tracked())
      },
    })
    this.evictions = new Counter({
      name: 'harvestguard_evictions_total',
      help: 'Ledgers evicted by the memory cap (least recently active first).',
      registers,
      collect: counterFromTotal(sources.evictions),
    })
    const age = sources.syncAgeMs
    this.syncLag = new Gauge({
      name: 'harvestguard_sync_lag_seconds',
      help: 'Seconds since the last successful sync with the shared store (grows during an outage).',
      registers,
      collect() {
        const ms = age?.()
        if (ms !== undefined) this.set(ms / 1000)
      },
    })
    this.#syncBatch = new Histogram({
      name: 'harvestguard_sync_batch_size',
      help: 'Principals per sync round trip.',
      buckets: [1, 10, 100, 1000, 10_000, 100_000],
      registers,
    })
    this.#syncDuration = new Histogram({
      name: 'harvestguard_sync_duration_seconds',
      help: 'Wall time of one sync round trip (push and pull).',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    })
    const queued = sources.queuedDeltas
    this.syncQueued = new Gauge({
      name: 'harvestguard_sync_queued_deltas',
      help: 'Principals with deltas not yet in the shared store.',
      registers,
      collect() {
        if (queued !== undefined) this.set(queued())
      },
    })
    this.#storeErrors = new Counter({
      name: 'harvestguard_store_errors_total',
      help: 'Failed round trips to the shared store, by operation.',
      labelNames: ['operation'],
      registers,
    })
    for (const operation of STORE_OPERATIONS) this.#storeErrors.inc({ operation }, 0)
    this.#alerts = new Counter({
      name: 'harvestguard_alerts_total',
      help: 'Alerts raised (once per actor and escalation), by action.',
      labelNames: ['action'],
      registers,
    })
    this.#alertFailures = new Counter({
      name: 'harvestguard_alert_delivery_failures_total',
      help: 'Alerts a sink gave up on or dropped.',
      registers,
    })
    this.#journalErrors = new Counter({
      name: 'harvestguard_journal_errors_total',
      help: 'Failed journal writes (records stay buffered, bounded).',
      registers,
    })
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: registry, prefix: 'harvestguard_' })
  }

  /** Counts one decision. */
  decision(action: Action): void {
    this.#decisions.inc({ action })
  }

  /** Records one successful sync round trip. */
  sync(batchSize: number, durationMs: number): void {
    this.#syncBatch.observe(batchSize)
    this.#syncDuration.observe(durationMs / 1000)
  }

  /** Counts one failed store round trip. */
  storeError(operation: StoreOperation): void {
    this.#storeErrors.inc({ operation })
  }

  /** Counts one alert raised. */
  alert(action: Action): void {
    this.#alerts.inc({ action })
  }

  /** Counts one alert not delivered. */
  alertDeliveryFailure(): void {
    this.#alertFailures.inc()
  }

  /** Counts one failed journal write. */
  journalError(): void {
    this.#journalErrors.inc()
  }

  /** The exposition text (Prometheus text format 0.0.4). */
  async text(): Promise<string> {
    return this.registry.metrics()
  }
}
