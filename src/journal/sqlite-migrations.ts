/**
 * Schema migrations of {@link SqliteJournal}, in order. Each runs once per file, in one
 * transaction with its `schema_migrations` row. Append new steps; never edit an applied one.
 * Columns mirror the PostgreSQL journal so that reports read both the same way.
 */

/** One migration: a version (strictly increasing), a name and its SQL. */
export interface SqliteMigration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

/** Every migration of the SQLite journal schema, oldest first. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = Object.freeze([
  {
    version: 1,
    name: 'decisions and alerts',
    sql: `
      CREATE TABLE decisions (
        id            INTEGER PRIMARY KEY,
        time_ms       INTEGER NOT NULL,
        principal     TEXT    NOT NULL,
        actor         TEXT    NOT NULL,
        action        TEXT    NOT NULL,
        action_rank   INTEGER NOT NULL,
        score         REAL    NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        shadow        INTEGER NOT NULL,
        readings      TEXT    NOT NULL,
        linked        TEXT    NOT NULL
      );
      -- the three reads the dashboard and forensics make: by principal, by actor, by time
      CREATE INDEX decisions_principal_time ON decisions (principal, time_ms DESC);
      CREATE INDEX decisions_actor_time ON decisions (actor, time_ms DESC);
      CREATE INDEX decisions_time ON decisions (time_ms DESC);
      CREATE TABLE alerts (
        seq             INTEGER PRIMARY KEY,
        id              TEXT    NOT NULL UNIQUE,
        time_ms         INTEGER NOT NULL,
        actor           TEXT    NOT NULL,
        principal       TEXT    NOT NULL,
        action          TEXT    NOT NULL,
        previous_action TEXT    NOT NULL,
        score           REAL    NOT NULL,
        readings        TEXT    NOT NULL,
        message         TEXT    NOT NULL
      );
      CREATE INDEX alerts_time ON alerts (time_ms DESC);
      CREATE INDEX alerts_actor_time ON alerts (actor, time_ms DESC);
      CREATE INDEX alerts_principal_time ON alerts (principal, time_ms DESC);
    `,
  },
])
