import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import pg from 'pg'
import type { Decision } from '../../src/core/decision.ts'
import type { Alert } from '../../src/core/ports.ts'
import { PostgresJournal, migratePostgresJournal } from '../../src/journal/postgres-journal.ts'
import { POSTGRES_URL, requireService } from '../support/services.ts'
import { journalContract } from '../contracts/journal.ts'

const skip = await requireService('PostgreSQL', '127.0.0.1', 5432)

// every journal the contract opens gets its own random schema, dropped when the file is done
const contractSchemas = new Map<PostgresJournal, string>()
const contractPool =
  skip === false ? new pg.Pool({ connectionString: POSTGRES_URL, max: 4 }) : undefined
after(async () => {
  if (contractPool === undefined) return
  for (const schema of new Set(contractSchemas.values()))
    await contractPool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await contractPool.end()
})
async function openIn(schema: string): Promise<PostgresJournal> {
  const journal = await PostgresJournal.open({ connectionString: POSTGRES_URL, schema })
  contractSchemas.set(journal, schema)
  return journal
}
journalContract('PostgresJournal', {
  skip,
  open: () => openIn(`hg_test_${randomBytes(6).toString('hex')}`),
  reopen: (journal) => openIn(contractSchemas.get(journal as PostgresJournal) ?? 'missing'),
})

function decision(over: Partial<Decision> = {}): Decision {
  return {
    principal: 'ip:203.0.113.7',
    actor: 'ip:203.0.113.7',
    action: 'throttle',
    score: 40,
    readings: [{ signal: 'distinct-records', value: 900, contribution: 40, note: '900 records' }],
    linked: [],
    timeMs: 1_700_000_000_000,
    expiresAtMs: 1_700_000_600_000,
    shadow: false,
    ...over,
  }
}

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: randomBytes(8).toString('hex'),
    timeMs: 1_700_000_000_000,
    actor: 'ip:203.0.113.7',
    principal: 'ip:203.0.113.7',
    action: 'block',
    previousAction: 'throttle',
    score: 80,
    readings: [],
    message: 'ip:203.0.113.7 escalated to block',
    ...over,
  }
}

/** A port nothing listens on: bound then released. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 1
}

describe('PostgresJournal', { skip }, () => {
  const schema = `hg_test_${randomBytes(6).toString('hex')}`
  let pool: pg.Pool
  let journal: PostgresJournal

  before(async () => {
    pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 4 })
    journal = await PostgresJournal.open({ pool, schema, batchSize: 3 })
  })
  after(async () => {
    await journal?.close()
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    await pool.end()
  })

  it('applies each migration once however often and concurrently it is run', async () => {
    const again = await Promise.all([
      migratePostgresJournal(pool, schema),
      migratePostgresJournal(pool, schema),
    ])
    assert.deepEqual(again, [[], []])
    const rows = await pool.query(`SELECT version FROM "${schema}".schema_migrations`)
    assert.deepEqual(
      rows.rows.map((r: { version: number }) => r.version),
      [1],
    )
  })

  it('migrates a fresh schema concurrently from several guards without error', async () => {
    const fresh = `hg_test_${randomBytes(6).toString('hex')}`
    try {
      const applied = await Promise.all([1, 2, 3].map(() => migratePostgresJournal(pool, fresh)))
      assert.equal(applied.flat().length, 1, 'exactly one starter applies version 1')
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`)
    }
  })

  it('reads back decisions by principal, actor, time and action, newest first', async () => {
    const t = 1_800_000_000_000
    journal.recordDecision(
      decision({ principal: 'ip:10.0.0.1', actor: 'a1', timeMs: t, action: 'observe' }),
    )
    journal.recordDecision(
      decision({
        principal: 'ip:10.0.0.1',
        actor: 'a1',
        timeMs: t + 10,
        action: 'block',
        score: 90,
      }),
    )
    journal.recordDecision(
      decision({ principal: 'account:x', actor: 'a1', timeMs: t + 20, action: 'mask' }),
    )
    journal.recordDecision(
      decision({
        principal: 'ip:10.0.0.2',
        actor: 'a2',
        timeMs: t + 30,
        action: 'throttle',
        score: 55,
      }),
    )
    await journal.flush()
    const byPrincipal = await journal.decisions({ principal: 'ip:10.0.0.1' })
    assert.deepEqual(
      byPrincipal.map((d) => [d.timeMs, d.action]),
      [
        [t + 10, 'block'],
        [t, 'observe'],
      ],
    )
    assert.deepEqual(byPrincipal[0]?.readings, decision().readings)
    const byActor = await journal.decisions({ actor: 'a1', sinceMs: t + 10, untilMs: t + 20 })
    assert.deepEqual(
      byActor.map((d) => d.principal),
      ['account:x', 'ip:10.0.0.1'],
    )
    const strong = await journal.decisions({ sinceMs: t, actions: ['block', 'throttle'], limit: 1 })
    assert.deepEqual(
      strong.map((d) => d.actor),
      ['a2'],
    )
  })

  it('ranks top actors by strongest action, then score', async () => {
    const top = await journal.topActors({ sinceMs: 1_800_000_000_000 })
    assert.deepEqual(
      top.map((a) => [a.actor, a.strongestAction, a.decisions, a.maxScore]),
      [
        ['a1', 'block', 3, 90],
        ['a2', 'throttle', 1, 55],
      ],
    )
    assert.equal(top[0]?.firstMs, 1_800_000_000_000)
    assert.equal(top[0]?.lastMs, 1_800_000_000_020)
  })

  it('stores alerts once even when a batch is retried', async () => {
    const a = alert({ actor: 'a9', timeMs: 1_900_000_000_000 })
    journal.recordAlert(a)
    journal.recordAlert(a)
    await journal.flush()
    const got = await journal.alerts({ actor: 'a9' })
    assert.deepEqual(got, [a])
  })

  it('writes in batches of batchSize without waiting for the timer', async () => {
    const writtenBefore = journal.stats.written
    for (let i = 0; i < 7; i++)
      journal.recordDecision(decision({ actor: 'batch', timeMs: 2e12 + i }))
    await journal.flush()
    assert.equal(journal.stats.written - writtenBefore, 7)
    assert.equal(journal.stats.buffered, 0)
    assert.equal((await journal.decisions({ actor: 'batch', limit: 100 })).length, 7)
  })
})

describe('PostgresJournal while PostgreSQL is unreachable', () => {
  it('never throws into the hot path, keeps a bounded buffer and reports the outage', async () => {
    const port = await deadPort()
    const errors: string[] = []
    const journal = new PostgresJournal({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      maxBufferedRecords: 5,
      onError: (e) => errors.push(e.code),
    })
    for (let i = 0; i < 8; i++) journal.recordDecision(decision({ timeMs: i }))
    assert.equal(journal.stats.buffered, 5)
    assert.equal(journal.stats.dropped, 3)
    await assert.rejects(journal.flush(), { code: 'HG_JOURNAL_UNAVAILABLE' })
    assert.equal(journal.stats.buffered, 5, 'records are kept for the next attempt')
    await assert.rejects(journal.decisions(), { code: 'HG_JOURNAL_UNAVAILABLE' })
    await assert.rejects(journal.close(), { code: 'HG_JOURNAL_UNAVAILABLE' })
  })

  it('rejects a schema name that is not a plain identifier', () => {
    assert.throws(() => new PostgresJournal({ schema: 'x"; DROP TABLE y; --' }), {
      code: 'HG_JOURNAL_SCHEMA_INVALID',
    })
  })
})
