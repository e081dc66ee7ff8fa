import type { Action, Decision, Reading } from './decision.ts'
import type { Digest } from './exposure.ts'
import type { Principal } from './principal.ts'

/**
 * Turns subjects and personal values into keyed digests. The Node implementation is a keyed
 * PRF with a secret from config; core only ever sees the digests.
 */
export interface Keyer {
  /** Keyed digest of `value` within `namespace` (e.g. `user`, `phone`). */
  digest(namespace: string, value: string): Digest
}

/** An alert: raised once per actor and escalation, never per request. */
export interface Alert {
  readonly id: string
  readonly timeMs: number
  readonly actor: string
  readonly principal: Principal
  /** The action that was escalated to. */
  readonly action: Action
  readonly previousAction: Action
  readonly score: number
  readonly readings: readonly Reading[]
  /** One line: who, what, why. */
  readonly message: string
}

/** Filters for reading the journal back. All bounds inclusive; omitted means unbounded. */
export interface JournalQuery {
  readonly principal?: Principal
  readonly actor?: string
  readonly sinceMs?: number
  readonly untilMs?: number
  readonly actions?: readonly Action[]
  /** Newest first, at most this many. @default 100 */
  readonly limit?: number
}

/** One actor's summary over a period, for dashboards and forensics. */
export interface ActorSummary {
  readonly actor: string
  readonly decisions: number
  readonly strongestAction: Action
  readonly maxScore: number
  readonly firstMs: number
  readonly lastMs: number
}

/**
 * The durable record of decisions and alerts. Writes are fire-and-forget from the hot path
 * (implementations buffer); reads are for operators and reports.
 */
export interface Journal {
  recordDecision(decision: Decision): void
  recordAlert(alert: Alert): void
  /** Resolves once everything recorded so far is durable. */
  flush(): Promise<void>
  decisions(query?: JournalQuery): Promise<Decision[]>
  alerts(query?: JournalQuery): Promise<Alert[]>
  /** Actors by strongest action then score, over the period of the query. */
  topActors(query?: JournalQuery): Promise<ActorSummary[]>
  close(): Promise<void>
}

/** Where alerts go (webhook, JSON lines, stdout). Must not throw into the caller. */
export interface AlertSink {
  send(alert: Alert): void
  close(): Promise<void>
}
