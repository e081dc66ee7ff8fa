/**
 * The journal for a fleet: decisions and alerts in PostgreSQL, shared by every guard.
 *
 * Writes never wait on the database: `recordDecision`/`recordAlert` append to a bounded buffer
 * that a timer (or a full batch) writes in ONE statement per batch (`INSERT … SELECT unnest`), so
 * a guard judging 50k requests/s makes a handful of round trips per second. When PostgreSQL is
 * down the buffer keeps the newest records up to `maxBufferedRecords` (oldest dropped and
 * counted) and the next write retries; no request ever fails because of the journal.
 */
import pg from 'pg'
import type { Pool, PoolConfig } from 'pg'
import { ACTIONS, actionRank } from '../core/index.ts'
import type { Action, Decision, LinkedPrincipal, Reading } from '../core/index.ts'
import { HarvestGuardError } from '../core/index.ts'
import type { ActorSummary, Alert, Journal, JournalQuery } from '../core/index.ts'
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts'
import { RecordBuffer } from './record-buffer.ts'

/** Code when PostgreSQL could not be reached or refused a write or read. */
export const JOURNAL_UNAVAILABLE = 'HG_JOURNAL_UNAVAILABLE'
/** Code when the configured schema name is not a plain SQL identifier. */
export const JOURNAL_SCHEMA_INVALID = 'HG_JOURNAL_SCHEMA_INVALID'

/** Options of {@link PostgresJournal}. Give either `pool` or `connectionString`. */
export interface PostgresJournalOptions {
  /** `postgres://user@host:port/db`; ignored when `pool` is given. */
  readonly connectionString?: string
  /** An injected pool (the caller keeps ownership: `close()` does not end it). */
  readonly pool?: Pool
  /** Schema holding the tables; created if missing. Lowercase identifier. @default 'harvestguard' */
  readonly schema?: string
  /** Records per INSERT statement. @default 500 */
  readonly batchSize?: number
  /** How often buffered records are written. @default 1000 */
  readonly flushIntervalMs?: number
  /** Records kept while PostgreSQL is unreachable; beyond, the oldest are dropped. @default 100000 */
  readonly maxBufferedRecords?: number
  /** Run pending migrations on open. @default true */
  readonly migrate?: boolean
  /** Background write failures (the hot path never sees them). @default ignore */
  readonly onError?: (error: HarvestGuardError) => void
}

/** Counters describing the write path, for metrics. */
export interface PostgresJournalStats {
  readonly buffered: number
  readonly written: number
  readonly dropped: number
  readonly errors: number
}

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/

function quoteSchema(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new HarvestGuardError(
      JOURNAL_SCHEMA_INVALID,
      `journal.schema: expected a lowercase SQL identifier ([a-z_][a-z0-9_]*, at most 63), got ${JSON.stringify(schema)}`,
    )
  }
  return `"${schema}"`
}

function unavailable(what: string, cause: unknown): HarvestGuardError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new HarvestGuardError(
    JOURNAL_UNAVAILABLE,
    `PostgreSQL journal: ${what} failed: ${detail}`,
    {
      cause,
    },
  )
}

/** Applies pending migrations to `schema` (idempotent; safe when several guards start at once). */
export async function migratePostgresJournal(pool: Pool, schema: string): Promise<number[]> {
  const s = quoteSchema(schema)
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('BEGIN')
    // one lock per schema name: concurrent starters wait, then find the steps already applied
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`harvestguard:${schema}`])
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`)
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    )
    const done = await client.query<{ version: number }>(
      `SELECT version FROM ${s}.schema_migrations`,
    )
    const have = new Set(done.rows.map((r) => r.version))
    for (const m of POSTGRES_MIGRATIONS) {
      if (have.has(m.version)) continue
      await client.query(m.sql(s))
      await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ])
      applied.push(m.version)
    }
    await client.query('COMMIT')
    return applied
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw unavailable('migration', error)
  } finally {
    client.release()
  }
}

interface DecisionRow {
  time_ms: number
  principal: string
  actor: string
  action: Action
  score: number
  expires_at_ms: number
  shadow: boolean
  readings: Reading[]
  // as the engine wrote them (rows from before 2026-11-23 lack via and relation)
  linked: LinkedPrincipal[]
}

interface AlertRow {
  id: string
  time_ms: number
  actor: string
  principal: string
  action: Action
  previous_action: Action
  score: number
  readings: Reading[]
  message: string
}

/**
 * {@link Journal} on PostgreSQL with buffered batch writes and migrations.
 *
 * @example
 * const journal = await PostgresJournal.open({ connectionString: 'postgres://postgres@127.0.0.1/hg' })
 * journal.recordDecision(decision)
 * await journal.flush()
 */
export class PostgresJournal implements Journal {
  readonly #pool: Pool
  readonly #ownsPool: boolean
  readonly #s: string
  readonly #batchSize: number
  readonly #onError: (error: HarvestGuardError) => void
  readonly #buffer: RecordBuffer
  #chain: Promise<void> = Promise.resolve()
  #timer: ReturnType<typeof setInterval> | undefined
  #written = 0
  #errors = 0
  #closed = false

  /** Opens the pool (unless injected) and applies pending migrations. */
  static async open(options: PostgresJournalOptions): Promise<PostgresJournal> {
    const journal = new PostgresJournal(options)
    if (options.migrate ?? true) {
      try {
        await migratePostgresJournal(journal.#pool, options.schema ?? 'harvestguard')
      } catch (error) {
        await journal.close().catch(() => {})
        throw error
      }
    }
    return journal
  }

  /** Prefer {@link PostgresJournal.open}, which also migrates. */
  constructor(options: PostgresJournalOptions) {
    this.#s = quoteSchema(options.schema ?? 'harvestguard')
    if (options.pool !== undefined) {
      this.#pool = options.pool
      this.#ownsPool = false
    } else {
      const config: PoolConfig = { max: 4 }
      if (options.connectionString !== undefined) config.connectionString = options.connectionString
      this.#pool = new pg.Pool(config)
      this.#ownsPool = true
    }
    // an idle client losing its connection must not crash the process
    this.#pool.on('error', (error) => this.#report(unavailable('idle connection', error)))
    this.#batchSize = Math.max(1, options.batchSize ?? 500)
    this.#buffer = new RecordBuffer(options.maxBufferedRecords ?? 100_000)
    this.#onError = options.onError ?? (() => {})
    const intervalMs = options.flushIntervalMs ?? 1000
    this.#timer = setInterval(() => {
      this.#drain().catch((error: HarvestGuardError) => this.#report(error))
    }, intervalMs)
    this.#timer.unref()
  }

  /** Write-path counters. */
  get stats(): PostgresJournalStats {
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
    const buffer = this.#buffer
    if (buffer.decisions.length === this.#batchSize || buffer.alerts.length === this.#batchSize) {
      this.#drain().catch((error: HarvestGuardError) => this.#report(error))
    }
  }

  #report(error: HarvestGuardError): void {
    this.#errors++
    try {
      this.#onError(error)
    } catch {
      // a throwing error handler must not take the write path down with it
    }
  }

  #drain(): Promise<void> {
    const run = this.#chain.then(() => this.#writeAll())
    this.#chain = run.catch(() => {})
    return run
  }

  async #writeAll(): Promise<void> {
    while (this.#buffer.size > 0) {
      const { decisions, alerts } = this.#buffer.take(this.#batchSize)
      try {
        await this.#insert(decisions, alerts)
        this.#written += decisions.length + alerts.length
      } catch (error) {
        // put the batch back in front, still within the bound, and retry on the next flush
        this.#buffer.putBack(decisions, alerts)
        throw unavailable('write', error)
      }
    }
  }

  async #insert(decisions: readonly Decision[], alerts: readonly Alert[]): Promise<void> {
    const s = this.#s
    // one statement, one round trip, atomic for both tables
    await this.#pool.query(
      `WITH d AS (
         INSERT INTO ${s}.decisions
           (time_ms, principal, actor, action, action_rank, score, expires_at_ms, shadow, readings, linked)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::smallint[],
                              $6::float8[], $7::bigint[], $8::bool[], $9::jsonb[], $10::jsonb[])
         RETURNING 1
       ), a AS (
         INSERT INTO ${s}.alerts
           (id, time_ms, actor, principal, action, previous_action, score, readings, message)
         SELECT * FROM unnest($11::text[], $12::bigint[], $13::text[], $14::text[], $15::text[],
                              $16::text[], $17::float8[], $18::jsonb[], $19::text[])
         ON CONFLICT (id) DO NOTHING
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM d) AS d, (SELECT count(*) FROM a) AS a`,
      [
        decisions.map((d) => Math.trunc(d.timeMs)),
        decisions.map((d) => d.principal),
        decisions.map((d) => d.actor),
        decisions.map((d) => d.action),
        decisions.map((d) => actionRank(d.action)),
        decisions.map((d) => d.score),
        decisions.map((d) => Math.trunc(d.expiresAtMs)),
        decisions.map((d) => d.shadow),
        decisions.map((d) => JSON.stringify(d.readings)),
        decisions.map((d) => JSON.stringify(d.linked)),
        alerts.map((a) => a.id),
        alerts.map((a) => Math.trunc(a.timeMs)),
        alerts.map((a) => a.actor),
        alerts.map((a) => a.principal),
        alerts.map((a) => a.action),
        alerts.map((a) => a.previousAction),
        alerts.map((a) => a.score),
        alerts.map((a) => JSON.stringify(a.readings)),
        alerts.map((a) => a.message),
      ],
    )
  }

  async flush(): Promise<void> {
    await this.#drain()
  }

  #where(query: JournalQuery, params: unknown[], hasActionRank: boolean): string {
    const clauses: string[] = []
    if (query.principal !== undefined) {
      params.push(query.principal)
      clauses.push(`principal = $${params.length}`)
    }
    if (query.actor !== undefined) {
      params.push(query.actor)
      clauses.push(`actor = $${params.length}`)
    }
    if (query.sinceMs !== undefined) {
      params.push(Math.ceil(query.sinceMs))
      clauses.push(`time_ms >= $${params.length}`)
    }
    if (query.untilMs !== undefined) {
      params.push(Math.floor(query.untilMs))
      clauses.push(`time_ms <= $${params.length}`)
    }
    if (query.actions !== undefined) {
      if (hasActionRank) {
        params.push(query.actions.map((a) => actionRank(a)))
        clauses.push(`action_rank = ANY($${params.length}::smallint[])`)
      } else {
        params.push([...query.actions])
        clauses.push(`action = ANY($${params.length}::text[])`)
      }
    }
    return clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`
  }

  #limit(query: JournalQuery, params: unknown[]): string {
    params.push(Math.max(0, Math.trunc(query.limit ?? 100)))
    return `LIMIT $${params.length}`
  }

  async #read<R extends object>(sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, params)).rows
    } catch (error) {
      throw unavailable('read', error)
    }
  }

  async decisions(query: JournalQuery = {}): Promise<Decision[]> {
    const params: unknown[] = []
    const where = this.#where(query, params, true)
    const rows = await this.#read<DecisionRow>(
      `SELECT time_ms::float8 AS time_ms, principal, actor, action, score,
              expires_at_ms::float8 AS expires_at_ms, shadow, readings, linked
         FROM ${this.#s}.decisions ${where}
        ORDER BY time_ms DESC, id DESC ${this.#limit(query, params)}`,
      params,
    )
    return rows.map((r) => ({
      principal: r.principal,
      actor: r.actor,
      action: r.action,
      score: r.score,
      readings: r.readings,
      linked: r.linked,
      timeMs: r.time_ms,
      expiresAtMs: r.expires_at_ms,
      shadow: r.shadow,
    }))
  }

  async alerts(query: JournalQuery = {}): Promise<Alert[]> {
    const params: unknown[] = []
    const where = this.#where(query, params, false)
    const rows = await this.#read<AlertRow>(
      `SELECT id, time_ms::float8 AS time_ms, actor, principal, action, previous_action, score,
              readings, message
         FROM ${this.#s}.alerts ${where}
        ORDER BY time_ms DESC, seq DESC ${this.#limit(query, params)}`,
      params,
    )
    return rows.map((r) => ({
      id: r.id,
      timeMs: r.time_ms,
      actor: r.actor,
      principal: r.principal,
      action: r.action,
      previousAction: r.previous_action,
      score: r.score,
      readings: r.readings,
      message: r.message,
    }))
  }

  async topActors(query: JournalQuery = {}): Promise<ActorSummary[]> {
    const params: unknown[] = []
    const where = this.#where(query, params, true)
    const rows = await this.#read<{
      actor: string
      decisions: number
      rank: number
      max_score: number
      first_ms: number
      last_ms: number
    }>(
      `SELECT actor, count(*)::float8 AS decisions, max(action_rank)::int AS rank,
              max(score) AS max_score, min(time_ms)::float8 AS first_ms,
              max(time_ms)::float8 AS last_ms
         FROM ${this.#s}.decisions ${where}
        GROUP BY actor
        ORDER BY rank DESC, max_score DESC, actor ASC ${this.#limit(query, params)}`,
      params,
    )
    return rows.map((r) => ({
      actor: r.actor,
      decisions: r.decisions,
      strongestAction: ACTIONS[r.rank] ?? 'allow',
      maxScore: r.max_score,
      firstMs: r.first_ms,
      lastMs: r.last_ms,
    }))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    let failure: unknown
    try {
      await this.#drain()
    } catch (error) {
      failure = error
    }
    if (this.#ownsPool) await this.#pool.end().catch(() => {})
    if (failure !== undefined) throw failure
  }
}
