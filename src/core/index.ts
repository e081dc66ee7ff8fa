/**
 * HarvestGuard's pure core: the nouns (Event, Principal, Exposure, Ledger, Signal, Policy,
 * Decision), the engine, the ports (LedgerStore, Journal, AlertSink, Keyer), the route catalogue
 * and the sketches. Imports nothing outside src/core; every other part imports core through
 * this file.
 */
export * from './principal.ts'
export * from './exposure.ts'
export * from './event.ts'
export * from './decision.ts'
export * from './ports.ts'
export * from './errors.ts'
export * from './catalogue.ts'
export * from './sketch/index.ts'
export * from './signal.ts'
export { SIGNALS } from './signals/index.ts'
export * from './policy.ts'
export * from './ledger.ts'
export * from './ledger-store.ts'
export * from './actors.ts'
export * from './engine.ts'
