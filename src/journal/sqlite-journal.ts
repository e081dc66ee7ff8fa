/**
 * The default journal: decisions and alerts in a local SQLite file through `node:sqlite`.
 *
 * The hot path only appends to an in-memory buffer; a timer (or a full batch) writes the buffer
 * in ONE transaction, so a guard deciding thousands of times a second pays one fsync per
 * interval, not one per decision. WAL mode lets operators read the file (dashboards, forensics,
 * `sqlite3`) while the guard writes. Nothing raw is stored: principals are `kind:value` with
 * digests for accounts, keys, sessions and devices, and decisions carry no subjects at all.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import {
  ACTIONS,
  actionRank,
  type Action,
  type Decision,
  type LinkedPrincipal,
  type Reading,
  HarvestGuardError,
  type ActorSummary,
  type Alert,
  type Journal,
  type JournalQuery,
} from '../core/index.ts'
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts'
import { RecordBuffer } from './record-buffer.ts'

/** Code when the journal file cannot be opened, migrated, or was written by a newer version. */
export const JOURNAL_OPEN_FAILED = 'HG_JOURNAL_OPEN_FAILED'
/** Code of a background write that failed (reported to `onError`, retried on the next flush). */
export const JOURNAL_WRITE_FAILED = 'HG_JOURNAL_WRITE_FAILED'
/** Code of a read on a closed journal. */
export const JOURNAL_CLOSED = 'HG_JOURNAL_CLOSED'

/** Options of {@link SqliteJournal}. */
export interface SqliteJournalOptions {
  /** File path, or ':memory:' for a journal that lives as long as the process. @default './harvestguard.db' */
  readonly path?: string
  /** How often buffered records are written, in milliseconds. @default 1000 */
  readonly flushIntervalMs?: number
  /** Buffered records that trigger a write before the timer does. @default 1000 */
  readonly batchSize?: number
  /** Records kept while writes fail; beyond, the oldest decisions are dropped. @default 100000 */
  readonly maxBufferedRecords?: number
  /** Background write failures (the hot path never sees them). @default ignore */
  readonly onError?: (error: HarvestGuardError) => void
}

/** Counters describing the write path, for metrics. */
export interface SqliteJournalStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  readonly errors: number
}

interface DecisionRow {
  time_ms: number
  principal: string
  actor: string
  action: string
  score: number
  expires_at_ms: number
  shadow: number
  readings: string
  linked: string
}

interface AlertRow {
  id: string
  time_ms: number
  actor: string
  principal: string
  action: string
  previous_action: string
  score: number
  readings: string
  message: string
}

interface ActorRow {
  actor: string
  decisions: number
  rank: number
  max_score: number
  first_ms: number
  last_ms: number
}

function failed(code: string, what: string, cause: unknown): HarvestGuardError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new HarvestGuardError(code, `SQLite journal: ${what}: ${detail}`, { cause })
}

/** Applies pending migrations; refuses a file migrated by a newer HarvestGuard. */
function migrate(db: DatabaseSync, path: string): void {
  db.exec(
    `CREATE TABLE IF NOT EXISTS schema_migrations (
       version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`,
  )
  const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]
  const have = new Set(rows.map((r) => r.version))
  const newest = SQLITE_MIGRATIONS.at(-1)?.version ?? 0
  const unknown = rows.find((r) => r.version > newest)
  if (unknown !== undefined) {
    throw new HarvestGuardError(
      JOURNAL_OPEN_FAILED,
      `SQLite journal ${path} has schema version ${unknown.version}, newer than this HarvestGuard knows (${newest}); upgrade HarvestGuard or use another file`,
    )
  }
  for (const m of SQLITE_MIGRATIONS) {
    if (have.has(m.version)) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(m.sql)
      db.prepare(
        'INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)',
      ).run(m.version, m.name, Date.now())
      db.exec('COMMIT')
    } catch (error) {
      db.exec('ROLLBACK')
      throw error
    }
  }
}

/**
 * {@link Journal} on SQLite (`node:sqlite`), WAL mode, buffered writes flushed in transactions,
 * with a `schema_migrations` table.
 *
 * @example
 * const journal = new SqliteJournal({ path: './harvestguard.db' })
 * engine.onDecision((d) => journal.recordDecision(d))
 * await journal.close()
 */
export class SqliteJournal implements Journal {
  readonly #db: DatabaseSync
  readonly #batchSize: number
  readonly #onError: (error: HarvestGuardError) => void
  readonly #insertDecision: StatementSync
  readonly #insertAlert: StatementSync
  readonly #buffer: RecordBuffer
  #timer: ReturnType<typeof setInterval> | undefined
  #scheduled = false
  #written = 0
  #errors = 0
  #closed = false

  /** Opens (creating if needed) and migrates the file. Throws HG_JOURNAL_OPEN_FAILED. */
  constructor(options: SqliteJournalOptions = {}) {
    const path = options.path ?? './harvestguard.db'
    try {
      this.#db = new DatabaseSync(path)
    } catch (error) {
      throw failed(JOURNAL_OPEN_FAILED, `cannot open ${path}`, error)
    }
    try {
      // WAL: readers never block the writer; NORMAL sync is durable across process crashes and
      // loses at most the last transaction on power loss, which a journal of decisions can bear.
      this.#db.exec('PRAGMA journal_mode = WAL')
      this.#db.exec('PRAGMA synchronous = NORMAL')
      this.#db.exec('PRAGMA busy_timeout = 5000')
      migrate(this.#db, path)
      this.#insertDecision = this.#db.prepare(
        `INSERT INTO decisions (time_ms, principal, actor, action, action_rank, score,
           expires_at_ms, shadow, readings, linked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      this.#insertAlert = this.#db.prepare(
        `INSERT OR IGNORE INTO alerts (id, time_ms, actor, principal, action, previous_action,
           score, readings, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
    } catch (error) {
      this.#db.close()
      if (error instanceof HarvestGuardError) throw error
      throw failed(JOURNAL_OPEN_FAILED, `cannot prepare ${path}`, error)
    }
    this.#batchSize = Math.max(1, options.batchSize ?? 1000)
    this.#buffer = new RecordBuffer(options.maxBufferedRecords ?? 100_000)
    this.#onError = options.onError ?? (() => {})
    this.#timer = setInterval(() => this.#drain(), options.flushIntervalMs ?? 1000)
    this.#timer.unref()
  }

  /** Write-path counters. */
  get stats(): SqliteJournalStats {
    return {
      buffered: this.#buffer.size,
      written: this.#written,
      dropped: this.#buffer.dropped,
      errors: this.#errors,
    }
  }

  recordDecision(decision: Decision): void {
    if (this.#closed) return
    this.#buffer.pushDecision(decision)
    this.#afterRecord()
  }

  recordAlert(alert: Alert): void {
    if (this.#closed) return
    this.#buffer.pushAlert(alert)
    this.#afterRecord()
  }

  #afterRecord(): void {
    // A full batch is written soon, but never inside the caller's stack (the engine's hot path).
    if (!this.#scheduled && this.#buffer.size >= this.#batchSize) {
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        this.#drain()
      })
    }
  }

  /** Writes the buffer in one transaction; on failure keeps it (bounded) and reports. */
  #drain(): boolean {
    if (this.#buffer.size === 0) return true
    const { decisions, alerts } = this.#buffer.take()
    try {
      this.#db.exec('BEGIN IMMEDIATE')
      try {
        for (const d of decisions) {
          this.#insertDecision.run(
            Math.trunc(d.timeMs),
            d.principal,
            d.actor,
            d.action,
            actionRank(d.action),
            d.score,
            Math.trunc(d.expiresAtMs),
            d.shadow ? 1 : 0,
            JSON.stringify(d.readings),
            JSON.stringify(d.linked),
          )
        }
        for (const a of alerts) {
          this.#insertAlert.run(
            a.id,
            Math.trunc(a.timeMs),
            a.actor,
            a.principal,
            a.action,
            a.previousAction,
            a.score,
            JSON.stringify(a.readings),
            a.message,
          )
        }
        this.#db.exec('COMMIT')
      } catch (error) {
        this.#db.exec('ROLLBACK')
        throw error
      }
      this.#written += decisions.length + alerts.length
      return true
    } catch (error) {
      this.#buffer.putBack(decisions, alerts)
      this.#report(failed(JOURNAL_WRITE_FAILED, 'write', error))
      return false
    }
  }

  #report(error: HarvestGuardError): void {
    this.#errors++
    try {
      this.#onError(error)
    } catch {
      // A throwing handler must not take the write path down with it.
    }
  }

  /** Resolves once everything recorded so far is in the file; rejects if the write failed. */
  async flush(): Promise<void> {
    if (this.#closed) return
    if (!this.#drain()) {
      throw new HarvestGuardError(
        JOURNAL_WRITE_FAILED,
        'SQLite journal: flush failed; records kept for retry',
      )
    }
  }

  #open(): DatabaseSync {
    if (this.#closed) throw new HarvestGuardError(JOURNAL_CLOSED, 'SQLite journal is closed')
    // Reads see everything recorded so far, as an operator expects.
    this.#drain()
    return this.#db
  }

  #where(query: JournalQuery, params: SQLInputValue[], hasActionRank: boolean): string {
    const clauses: string[] = []
    if (query.principal !== undefined) {
      params.push(query.principal)
      clauses.push('principal = ?')
    }
    if (query.actor !== undefined) {
      params.push(query.actor)
      clauses.push('actor = ?')
    }
    if (query.sinceMs !== undefined) {
      params.push(Math.ceil(query.sinceMs))
      clauses.push('time_ms >= ?')
    }
    if (query.untilMs !== undefined) {
      params.push(Math.floor(query.untilMs))
      clauses.push('time_ms <= ?')
    }
    if (query.actions !== undefined) {
      const valid = query.actions.filter((a) => (ACTIONS as readonly string[]).includes(a))
      if (valid.length === 0) clauses.push('0')
      else {
        for (const a of valid) params.push(hasActionRank ? actionRank(a) : a)
        clauses.push(
          `${hasActionRank ? 'action_rank' : 'action'} IN (${valid.map(() => '?').join(', ')})`,
        )
      }
    }
    return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`
  }

  #limit(query: JournalQuery, params: SQLInputValue[]): string {
    params.push(Math.max(0, Math.trunc(query.limit ?? 100)))
    return 'LIMIT ?'
  }

  async decisions(query: JournalQuery = {}): Promise<Decision[]> {
    const db = this.#open()
    const params: SQLInputValue[] = []
    const where = this.#where(query, params, true)
    const rows = db
      .prepare(
        `SELECT time_ms, principal, actor, action, score, expires_at_ms, shadow, readings, linked
           FROM decisions ${where} ORDER BY time_ms DESC, id DESC ${this.#limit(query, params)}`,
      )
      .all(...params) as unknown as DecisionRow[]
    return rows.map((r) => ({
      principal: r.principal,
      actor: r.actor,
      action: r.action as Action,
      score: r.score,
      readings: JSON.parse(r.readings) as Reading[],
      // as the engine wrote them (rows from before 2026-11-23 lack via and relation)
      linked: JSON.parse(r.linked) as LinkedPrincipal[],
      timeMs: r.time_ms,
      expiresAtMs: r.expires_at_ms,
      shadow: r.shadow === 1,
    }))
  }

  async alerts(query: JournalQuery = {}): Promise<Alert[]> {
    const db = this.#open()
    const params: SQLInputValue[] = []
    const where = this.#where(query, params, false)
    const rows = db
      .prepare(
        `SELECT id, time_ms, actor, principal, action, previous_action, score, readings, message
           FROM alerts ${where} ORDER BY time_ms DESC, seq DESC ${this.#limit(query, params)}`,
      )
      .all(...params) as unknown as AlertRow[]
    return rows.map((r) => ({
      id: r.id,
      timeMs: r.time_ms,
      actor: r.actor,
      principal: r.principal,
      action: r.action as Action,
      previousAction: r.previous_action as Action,
      score: r.score,
      readings: JSON.parse(r.readings) as Reading[],
      message: r.message,
    }))
  }

  async topActors(query: JournalQuery = {}): Promise<ActorSummary[]> {
    const db = this.#open()
    const params: SQLInputValue[] = []
    const where = this.#where(query, params, true)
    const rows = db
      .prepare(
        `SELECT actor, count(*) AS decisions, max(action_rank) AS rank, max(score) AS max_score,
                min(time_ms) AS first_ms, max(time_ms) AS last_ms
           FROM decisions ${where}
          GROUP BY actor
          ORDER BY rank DESC, max_score DESC, actor ASC ${this.#limit(query, params)}`,
      )
      .all(...params) as unknown as ActorRow[]
    return rows.map((r) => ({
      actor: r.actor,
      decisions: r.decisions,
      strongestAction: ACTIONS[r.rank] ?? 'allow',
      maxScore: r.max_score,
      firstMs: r.first_ms,
      lastMs: r.last_ms,
    }))
  }

  /** Writes what is buffered and closes the file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    const ok = this.#drain()
    this.#closed = true
    this.#db.close()
    if (!ok) {
      throw new HarvestGuardError(
        JOURNAL_WRITE_FAILED,
        `SQLite journal: ${this.#buffer.size} records could not be written before close`,
      )
    }
  }
}
