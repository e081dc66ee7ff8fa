/**
 * The lab: a seeded synthetic population, the demo shop (pure handlers + a loopback server),
 * simulators of every benign population and adversary of the threat model, the virtual clock,
 * real time over loopback HTTP, the scoreboard, access-log generation and the live demo.
 */
export { Rng, hash32, toSeed, unit } from './prng.ts'
export {
  COMMENTS_PER_PAGE,
  FIRST_ITEM_ID,
  FIRST_USER_ID,
  Population,
  createPopulation,
  exportPopulation,
  type Comment,
  type Item,
  type Partner,
  type PopulationExport,
  type PopulationOptions,
  type User,
} from './population.ts'
export {
  ShopState,
  featuredItems,
  handleShopRequest,
  maskName,
  maskPhone,
  searchItems,
  type HandleOptions,
  type ShopRequest,
  type ShopResponse,
} from './shop/handlers.ts'
export {
  startShopServer,
  type RunningShop,
  type ShopExchange,
  type ShopGate,
  type ShopServerOptions,
} from './shop/server.ts'
export { LAB_NOT_LOOPBACK, assertLoopback, isLoopback } from './loopback.ts'
export { createExposureCache, exposeResponse, memoKeyer, type Exposed } from './exposures.ts'
export * from './sim/common.ts'
export { A1_DEFAULTS, createA1, type A1Options } from './sim/a1-partner-insider.ts'
export { A2_DEFAULTS, createA2, type A2Options } from './sim/a2-sprinter.ts'
export { A3_DEFAULTS, createA3, type A3Options } from './sim/a3-swarm.ts'
export { A4_DEFAULTS, createA4, type A4Options } from './sim/a4-mimic.ts'
export { A5_DEFAULTS, createA5, type A5Options } from './sim/a5-account-farm.ts'
export { B1_DEFAULTS, createB1, type B1Options } from './sim/b1-shoppers.ts'
export { B2_DEFAULTS, createB2, type B2Options } from './sim/b2-heavy-shoppers.ts'
export { B3_DEFAULTS, createB3, type B3Options } from './sim/b3-buyers.ts'
export { B4_DEFAULTS, createB4, type B4Options } from './sim/b4-service-desk.ts'
export { B5_DEFAULTS, CRAWLER_NETWORKS, createB5, type B5Options } from './sim/b5-crawler.ts'
export { B6_DEFAULTS, createB6, type B6Options } from './sim/b6-shared-nat.ts'
export {
  SCENARIOS,
  SCENARIO_NAMES,
  scenario,
  scenarioActors,
  type Scenario,
  type ScenarioName,
  type ScenarioParams,
} from './scenarios.ts'
export {
  ACTION_BIT,
  runVirtual,
  type ActorRecord,
  type Exchange,
  type LabEngine,
  type VirtualRunOptions,
  type VirtualRunResult,
} from './virtual.ts'
export {
  LAB_EPOCH_MS,
  TARGETS,
  formatScoreboard,
  runScenario,
  score,
  type AdversaryScore,
  type BenignCounts,
  type RunScenarioOptions,
  type Scoreboard,
  type StopReason,
  type TargetResult,
} from './scoreboard.ts'
export {
  LAB_LOG_FORMATS,
  jsonLength,
  writeScenarioLogs,
  type LabLogFormat,
  type LogTruth,
  type WriteLogsOptions,
  type WriteLogsResult,
} from './logs.ts'
export { runRealtime, stackHeaders, type RealtimeOptions, type RealtimeResult } from './realtime.ts'
export { startProxiedShop, type ProxiedShop, type ProxiedShopOptions } from './proxied.ts'
export { SHOP_CONFIG_PATH, createLabEngine, loadLabSetup, type LabSetup } from './setup.ts'
export { runDemo, type DemoOptions, type DemoSummary } from './demo.ts'
