/**
 * Opens the journal a configuration names (`journal:` section): SQLite by default, PostgreSQL
 * for a fleet. The CLI and servers call this after config validation succeeded.
 */
import type { HarvestGuardError, Journal } from '../core/index.ts'
import { PostgresJournal } from './postgres-journal.ts'
import { SqliteJournal } from './sqlite-journal.ts'

/** The `journal:` section of the config, as parsed. */
export interface JournalSettings {
  readonly kind: 'sqlite' | 'postgres'
  /** SQLite file. @default './harvestguard.db' */
  readonly path: string
  /** @default 1000 */
  readonly flushIntervalMs: number
  readonly postgres?: { readonly url: string; readonly schema: string } | undefined
}

/**
 * Opens (and migrates) the configured journal.
 * @example const journal = await openJournal(config.journal, { onError: log })
 */
export async function openJournal(
  settings: JournalSettings,
  options: { readonly onError?: (error: HarvestGuardError) => void } = {},
): Promise<Journal> {
  if (settings.kind === 'postgres') {
    if (settings.postgres === undefined)
      throw new TypeError('journal.postgres is required for kind postgres')
    return PostgresJournal.open({
      connectionString: settings.postgres.url,
      schema: settings.postgres.schema,
      flushIntervalMs: settings.flushIntervalMs,
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    })
  }
  return new SqliteJournal({
    path: settings.path,
    flushIntervalMs: settings.flushIntervalMs,
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  })
}
