/** Journals: the durable record of decisions and alerts (SQLite by default, PostgreSQL for a fleet). */
export {
  JOURNAL_CLOSED,
  JOURNAL_OPEN_FAILED,
  JOURNAL_WRITE_FAILED,
  SqliteJournal,
  type SqliteJournalOptions,
  type SqliteJournalStats,
} from './sqlite-journal.ts'
export { SQLITE_MIGRATIONS, type SqliteMigration } from './sqlite-migrations.ts'
export {
  JOURNAL_SCHEMA_INVALID,
  JOURNAL_UNAVAILABLE,
  PostgresJournal,
  migratePostgresJournal,
  type PostgresJournalOptions,
  type PostgresJournalStats,
} from './postgres-journal.ts'
export { POSTGRES_MIGRATIONS, type PostgresMigration } from './postgres-migrations.ts'
export { openJournal, type JournalSettings } from './open.ts'
