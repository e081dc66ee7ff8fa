/**
 * Turns the engine's Decisions into Alerts: one per actor and escalation, never one per request.
 * A harvester that keeps hitting a blocked route produces thousands of (renewed) block decisions;
 * the operator wants one message when it went from throttle to block, and another only if it
 * escalates again or comes back after its decision lapsed.
 */
import { createHash } from 'node:crypto'
import { ACTIONS, actionRank } from '../core/index.ts'
import type { Action, Decision } from '../core/index.ts'
import type { Alert, AlertSink, Journal } from '../core/index.ts'

/** Options of {@link AlertGate}. */
export interface AlertGateOptions {
  /** Where alerts go; each gets every alert. @default [] */
  readonly sinks?: readonly AlertSink[]
  /** Journal that records every alert too. */
  readonly journal?: Journal
  /** Weakest action that raises an alert. @default 'throttle' */
  readonly minAction?: Action
  /** Actors remembered at once; the least recently escalated are forgotten first. @default 100000 */
  readonly maxActors?: number
}

interface Escalation {
  rank: number
  expiresAtMs: number
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(2)
}

/** The one-line message of an alert: who, what, why (the strongest readings). */
export function alertMessage(decision: Decision, previous: Action): string {
  const why = decision.readings
    .toSorted((a, b) => b.contribution - a.contribution)
    .slice(0, 3)
    .map((r) => r.note)
    .join('; ')
  const who =
    decision.actor === decision.principal
      ? decision.actor
      : `${decision.actor} (${decision.principal})`
  const shadow = decision.shadow ? ' [shadow]' : ''
  return `${who} escalated ${previous} -> ${decision.action}${shadow}, score ${formatNumber(decision.score)}${why === '' ? '' : `: ${why}`}`
}

/**
 * Decides which Decisions become Alerts and hands them to the sinks and journal. Memory is
 * bounded by `maxActors` (an LRU over actors).
 *
 * @example
 * const gate = new AlertGate({ sinks: [new JsonLinesAlertSink({ path: 'alerts.jsonl' })] })
 * engine.onDecision((d) => gate.consider(d))
 */
export class AlertGate {
  readonly #sinks: readonly AlertSink[]
  readonly #journal: Journal | undefined
  readonly #minRank: number
  readonly #maxActors: number
  readonly #actors = new Map<string, Escalation>()
  #raised = 0

  constructor(options: AlertGateOptions = {}) {
    this.#sinks = options.sinks ?? []
    this.#journal = options.journal
    this.#minRank = actionRank(options.minAction ?? 'throttle')
    this.#maxActors = Math.max(1, options.maxActors ?? 100_000)
  }

  /** Alerts raised so far. */
  get raised(): number {
    return this.#raised
  }

  /** Actors currently remembered (bounded by `maxActors`). */
  get trackedActors(): number {
    return this.#actors.size
  }

  /** Looks at one decision; returns the Alert it raised (already sent), if any. */
  consider(decision: Decision): Alert | undefined {
    const rank = actionRank(decision.action)
    if (rank < this.#minRank) return undefined
    const known = this.#actors.get(decision.actor)
    const live = known !== undefined && decision.timeMs < known.expiresAtMs
    if (live && rank <= known.rank) {
      // a renewal or a weaker decision of an already-escalated actor: extend, stay silent
      if (decision.expiresAtMs > known.expiresAtMs && rank === known.rank)
        known.expiresAtMs = decision.expiresAtMs
      return undefined
    }
    const previous: Action = live ? (ACTIONS[known.rank] ?? 'allow') : 'allow'
    this.#actors.delete(decision.actor)
    this.#actors.set(decision.actor, { rank, expiresAtMs: decision.expiresAtMs })
    if (this.#actors.size > this.#maxActors) {
      const oldest = this.#actors.keys().next().value
      if (oldest !== undefined) this.#actors.delete(oldest)
    }
    const alert: Alert = {
      // deterministic: the same escalation seen twice (replay, retry) keeps one id
      id: createHash('sha256')
        .update(`${decision.actor}\n${decision.action}\n${decision.timeMs}`)
        .digest('hex')
        .slice(0, 24),
      timeMs: decision.timeMs,
      actor: decision.actor,
      principal: decision.principal,
      action: decision.action,
      previousAction: previous,
      score: decision.score,
      readings: decision.readings,
      message: alertMessage(decision, previous),
    }
    this.#raised++
    this.#journal?.recordAlert(alert)
    for (const sink of this.#sinks) sink.send(alert)
    return alert
  }

  /** Closes every sink (waiting for queued deliveries). */
  async close(): Promise<void> {
    await Promise.all(this.#sinks.map((s) => s.close()))
  }
}
