import type { Alert, Decision } from '../core/index.ts'

/**
 * The bounded write buffer every journal keeps between the hot path and its database: records
 * wait here until a batch is written, and go back to the front when a write fails. Past the
 * bound the oldest decisions are dropped first (they are the bulk and renewed while a harvester
 * persists); alerts (rare, operator-facing) only when no decision is left. Drops are counted.
 */
export class RecordBuffer {
  decisions: Decision[] = []
  alerts: Alert[] = []
  /** Records dropped to keep the bound. */
  dropped = 0
  readonly #maxBuffered: number

  /** @param maxBuffered records held at most (decisions and alerts together). */
  constructor(maxBuffered: number) {
    this.#maxBuffered = Math.max(1, maxBuffered)
  }

  /** Records waiting to be written. */
  get size(): number {
    return this.decisions.length + this.alerts.length
  }

  pushDecision(decision: Decision): void {
    this.decisions.push(decision)
    this.#bound()
  }

  pushAlert(alert: Alert): void {
    this.alerts.push(alert)
    this.#bound()
  }

  /** Takes up to `limit` decisions and `limit` alerts off the front. @default everything */
  take(limit = Infinity): { decisions: Decision[]; alerts: Alert[] } {
    if (limit >= this.decisions.length && limit >= this.alerts.length) {
      const all = { decisions: this.decisions, alerts: this.alerts }
      this.decisions = []
      this.alerts = []
      return all
    }
    return { decisions: this.decisions.splice(0, limit), alerts: this.alerts.splice(0, limit) }
  }

  /** Puts records whose write failed back in front, then restores the bound. */
  putBack(decisions: readonly Decision[], alerts: readonly Alert[]): void {
    this.decisions = decisions.concat(this.decisions)
    this.alerts = alerts.concat(this.alerts)
    const over = this.size - this.#maxBuffered
    if (over <= 0) return
    const fromDecisions = Math.min(over, this.decisions.length)
    this.decisions.splice(0, fromDecisions)
    this.alerts.splice(0, over - fromDecisions)
    this.dropped += over
  }

  #bound(): void {
    if (this.size <= this.#maxBuffered) return
    if (this.decisions.length > 0) this.decisions.shift()
    else this.alerts.shift()
    this.dropped++
  }
}
