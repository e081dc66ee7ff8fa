import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { HarvestGuardError } from '../../src/core/errors.ts'
import type { Journal } from '../../src/core/ports.ts'
import { SQLITE_MIGRATIONS, SqliteJournal, openJournal } from '../../src/journal/index.ts'
import { journalContract, sampleDecision } from '../contracts/journal.ts'

const dir = mkdtempSync(join(tmpdir(), 'hg-journal-'))
after(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const paths = new WeakMap<Journal, string>()
const fresh = (): string => join(dir, `j${n++}.db`)

journalContract('SqliteJournal', {
  open: async () => {
    const path = fresh()
    const j = new SqliteJournal({ path })
    paths.set(j, path)
    return j
  },
  reopen: async (j) => new SqliteJournal({ path: paths.get(j)! }),
})

journalContract('SqliteJournal :memory:', {
  open: async () => new SqliteJournal({ path: ':memory:' }),
})

describe('SqliteJournal', () => {
  it('uses WAL and records its migrations', async () => {
    const path = fresh()
    const j = new SqliteJournal({ path })
    await j.close()
    const db = new DatabaseSync(path)
    try {
      assert.equal(
        (db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode,
        'wal',
      )
      const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()
      assert.deepEqual(
        versions.map((r) => (r as { version: number }).version),
        SQLITE_MIGRATIONS.map((m) => m.version),
      )
    } finally {
      db.close()
    }
  })

  it('reopens a migrated file without migrating again', async () => {
    const path = fresh()
    const a = new SqliteJournal({ path })
    a.recordDecision(sampleDecision())
    await a.close()
    const b = new SqliteJournal({ path })
    assert.equal((await b.decisions()).length, 1)
    await b.close()
  })

  it('refuses a file migrated by a newer version', async () => {
    const path = fresh()
    await new SqliteJournal({ path }).close()
    const db = new DatabaseSync(path)
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(999, 'future', 0)
    db.close()
    assert.throws(
      () => new SqliteJournal({ path }),
      (e: unknown) =>
        e instanceof HarvestGuardError &&
        e.code === 'HG_JOURNAL_OPEN_FAILED' &&
        /999/.test(e.message),
    )
  })

  it('says which file it cannot open', () => {
    const notADb = fresh()
    writeFileSync(notADb, 'this is not a database'.repeat(100))
    assert.throws(
      () => new SqliteJournal({ path: notADb }),
      (e: unknown) =>
        e instanceof HarvestGuardError &&
        e.code === 'HG_JOURNAL_OPEN_FAILED' &&
        e.message.includes(notADb),
    )
    assert.throws(
      () => new SqliteJournal({ path: join(dir, 'missing-dir', 'x.db') }),
      (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_JOURNAL_OPEN_FAILED',
    )
  })

  it('buffers writes until a flush, the timer or a full batch', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'setImmediate'] })
    const j = new SqliteJournal({ path: fresh(), flushIntervalMs: 1000, batchSize: 3 })
    j.recordDecision(sampleDecision())
    assert.equal(j.stats.buffered, 1)
    t.mock.timers.tick(1000)
    assert.deepEqual(j.stats, { buffered: 0, written: 1, dropped: 0, errors: 0 })
    for (let i = 0; i < 3; i++) j.recordDecision(sampleDecision())
    assert.equal(j.stats.buffered, 3)
    t.mock.timers.runAll()
    assert.equal(j.stats.written, 4)
    await j.close()
  })

  it('keeps a bounded buffer, dropping the oldest decisions, and counts them', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval', 'setImmediate'] })
    const j = new SqliteJournal({ path: fresh(), maxBufferedRecords: 5, batchSize: 1000 })
    for (let i = 0; i < 8; i++) j.recordDecision(sampleDecision({ timeMs: i }))
    assert.deepEqual(j.stats, { buffered: 5, written: 0, dropped: 3, errors: 0 })
    assert.deepEqual(
      (await j.decisions()).map((d) => d.timeMs),
      [7, 6, 5, 4, 3],
    )
    await j.close()
  })

  it('rejects reads after close', async () => {
    const j = new SqliteJournal({ path: ':memory:' })
    await j.close()
    await assert.rejects(
      j.decisions(),
      (e: unknown) => e instanceof HarvestGuardError && e.code === 'HG_JOURNAL_CLOSED',
    )
  })

  it('opens the configured journal', async () => {
    const path = fresh()
    const j = await openJournal({ kind: 'sqlite', path, flushIntervalMs: 1000 })
    assert.ok(j instanceof SqliteJournal)
    await j.close()
  })
})
