/**
 * HarvestGuard's public root: the core nouns and engine, configuration, keyed digests, stores
 * and journals. Framework adapters have their own entry points (`harvestguard/node`,
 * `harvestguard/express`, `harvestguard/fastify`, `harvestguard/hono`).
 * @example
 * import { createEngine, loadConfigFile } from 'harvestguard'
 * const config = loadConfigFile('harvestguard.yaml')
 */
export * from './core/index.ts'
export {
  defaultConfig,
  loadConfigFile,
  parseConfig,
  parseDuration,
  type Config,
  type ConfigData,
} from './config/index.ts'
export { HmacKeyer, SipHashKeyer, createKeyer, type KeyerOptions } from './keyer/index.ts'
export { MemoryLedgerStore, RedisLedgerStore, createStore } from './stores/index.ts'
export { PostgresJournal, SqliteJournal, openJournal } from './journal/index.ts'
