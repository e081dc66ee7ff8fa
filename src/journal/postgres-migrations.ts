/**
 * Schema migrations of {@link PostgresJournal}, in order. Each runs once per schema, inside one
 * transaction with its `schema_migrations` row, under an advisory lock, so several guards that
 * start at once neither race nor apply a step twice. Append new steps; never edit an applied one.
 */

/** One migration: a version (strictly increasing), a name, and its SQL with `{schema}` quoted. */
export interface PostgresMigration {
  readonly version: number
  readonly name: string
  readonly sql: (schema: string) => string
}

/** Every migration of the journal schema, oldest first. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = Object.freeze([
  {
    version: 1,
    name: 'decisions and alerts',
    sql: (s: string) => `
      CREATE TABLE ${s}.decisions (
        id            bigserial PRIMARY KEY,
        time_ms       bigint           NOT NULL,
        principal     text             NOT NULL,
        actor         text             NOT NULL,
        action        text             NOT NULL,
        action_rank   smallint         NOT NULL,
        score         double precision NOT NULL,
        expires_at_ms bigint           NOT NULL,
        shadow        boolean          NOT NULL,
        readings      jsonb            NOT NULL,
        linked        jsonb            NOT NULL
      );
      -- the three reads the dashboard and forensics make: by principal, by actor, by time
      CREATE INDEX decisions_principal_time ON ${s}.decisions (principal, time_ms DESC);
      CREATE INDEX decisions_actor_time ON ${s}.decisions (actor, time_ms DESC);
      CREATE INDEX decisions_time ON ${s}.decisions (time_ms DESC);
      CREATE TABLE ${s}.alerts (
        seq             bigserial PRIMARY KEY,
        id              text             NOT NULL UNIQUE,
        time_ms         bigint           NOT NULL,
        actor           text             NOT NULL,
        principal       text             NOT NULL,
        action          text             NOT NULL,
        previous_action text             NOT NULL,
        score           double precision NOT NULL,
        readings        jsonb            NOT NULL,
        message         text             NOT NULL
      );
      CREATE INDEX alerts_time ON ${s}.alerts (time_ms DESC);
      CREATE INDEX alerts_actor_time ON ${s}.alerts (actor, time_ms DESC);
      CREATE INDEX alerts_principal_time ON ${s}.alerts (principal, time_ms DESC);
    `,
  },
])
