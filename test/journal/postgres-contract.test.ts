import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import pg from 'pg'
import type { Journal } from '../../src/core/ports.ts'
import { PostgresJournal } from '../../src/journal/index.ts'
import { journalContract } from '../contracts/journal.ts'
import { POSTGRES_URL, requireService } from '../support/services.ts'

const skip = await requireService('PostgreSQL', '127.0.0.1', 5432)
// Every journal the contract opens gets its own schema, dropped at the end.
const schemas: string[] = []
const schemaOf = new WeakMap<Journal, string>()

after(async () => {
  if (schemas.length === 0) return
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 })
  try {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`)
  } finally {
    await pool.end()
  }
})

journalContract('PostgresJournal', {
  skip,
  open: async () => {
    const schema = `hg_contract_${randomBytes(6).toString('hex')}`
    schemas.push(schema)
    const j = await PostgresJournal.open({ connectionString: POSTGRES_URL, schema })
    schemaOf.set(j, schema)
    return j
  },
  reopen: async (j) =>
    PostgresJournal.open({ connectionString: POSTGRES_URL, schema: schemaOf.get(j)! }),
})
