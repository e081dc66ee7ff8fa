// Engine throughput and memory. Usage: npx node bench/engine.bench.ts [--events N]
//
// Throughput: pre-built events from a realistic mix (about 100k principals: visitors' ip and
// session, 30% with an account, shared /24 nets and browser fingerprints; 1% of visitors are
// harvesters: partner-key lookups, sequential sprinters, bare-page swarm members), replayed
// through one engine on one core. Events are built before timing, so the figure is the
// engine's own cost (accounting, checkpoints, decisions, actor linking, verdicts).
//
// Memory: heap delta per tracked principal after GC, for idle principals (a handful of
// requests: a page with one record and two assets, the principal strings created as a feeder
// would, so they count) and for the principals of the mixed run.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createEngine, type Principal } from '../src/core/index.ts'
import { policySchema } from '../src/config/policy-schema.ts'
import { buildEngineMix, ipOf, START } from './support/engine-mix.ts'
import { median } from './support/load.ts'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const policy = policySchema.parse({})

const argEvents = process.argv.indexOf('--events')
const EVENTS = argEvents > 0 ? Number(process.argv[argEvents + 1]) : 2_000_000

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

// --- throughput ---
// Two modes over the same events, alternating (A B A B: on these shared cores the second of two
// back-to-back runs is often the slower, whichever it is): principal lists frozen and reused
// per identity (the engine keeps their ledgers, see Event.principals; the log reader's lists),
// and plain arrays (every principal looked up per event; the middleware's per-request lists).
type Mode = 'frozen' | 'plain'
const { events, visitorOf } = buildEngineMix(EVENTS)
function useLists(mode: Mode): void {
  for (let i = 0; i < events.length; i++) {
    const v = visitorOf[i]!
    ;(events[i] as { principals: readonly Principal[] }).principals =
      mode === 'frozen' ? v.principals : v.plain
  }
}
interface Run {
  readonly eps: number
  readonly seconds: number
  readonly bytes: number
  readonly blocked: number
  readonly stats: ReturnType<typeof createEngine>['stats']
}
function run(mode: Mode): Run {
  useLists(mode)
  // Warm-up on a separate engine so JIT tiers settle without pre-filling the measured one.
  {
    const warm = createEngine({ policy })
    for (let i = 0; i < Math.min(200_000, events.length); i++) warm.observe(events[i]!)
  }
  const engine = createEngine({ policy })
  const before = heapUsed()
  const started = process.hrtime.bigint()
  let blocked = 0
  for (let i = 0; i < events.length; i++) {
    if (engine.observe(events[i]!).action === 'block') blocked++
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const bytes = (heapUsed() - before) / engine.stats.tracked
  return { eps: events.length / seconds, seconds, bytes, blocked, stats: engine.stats }
}
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2)
const runs: Record<Mode, Run[]> = { frozen: [], plain: [] }
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of ['frozen', 'plain'] as const) runs[mode].push(run(mode))
}
const best = (mode: Mode): Run => runs[mode].toSorted((a, b) => b.eps - a.eps)[0]!
const { stats, blocked, bytes: mixedBytes } = best('frozen')
const eps = median(runs.frozen.map((r) => r.eps))
const plainEps = median(runs.plain.map((r) => r.eps))
const seconds = events.length / eps
// The same decisions either way, or the cache changed what the engine does.
const fingerprint = (r: Run): string => JSON.stringify([r.stats.decisions, r.blocked])
const same = [...runs.frozen, ...runs.plain].every(
  (r) => fingerprint(r) === fingerprint(best('frozen')),
)

// --- idle principals ---
const IDLE = 100_000
const idleEngine = createEngine({ policy })
const idleBefore = heapUsed()
for (let i = 0; i < IDLE; i++) {
  // A feeder builds the principal string per request; the ledger map keeps one copy.
  const principals = [`ip:${ipOf(i + 1_000_000)}`]
  const t = START + i * 10
  const client = { ip: '', userAgent: '', referer: true, anomalies: 0 }
  const base = {
    method: 'GET',
    route: '',
    path: '/',
    status: 200,
    bytes: 1,
    principals,
    client,
    ordinal: -1,
  }
  idleEngine.observe({
    ...base,
    timeMs: t,
    resource: 'page',
    exposures: [{ subject: i * 977 + 1, fields: 0b101 }],
  })
  idleEngine.observe({ ...base, timeMs: t + 1, resource: 'asset', exposures: [] })
  idleEngine.observe({ ...base, timeMs: t + 2, resource: 'asset', exposures: [] })
}
const idleBytes = (heapUsed() - idleBefore) / idleEngine.stats.tracked

const s = stats
console.log('| measure | value | target |')
console.log('|---|---|---|')
console.log(`| events | ${events.length.toLocaleString('en')} | |`)
console.log(
  `| events/s (one core), frozen principal lists (median of ${ROUNDS}: ${runs.frozen.map((r) => Math.round(r.eps).toLocaleString('en')).join(', ')}) | ${Math.round(eps).toLocaleString('en')} | >= 2,000,000 |`,
)
console.log(
  `| events/s (one core), plain principal lists (median of ${ROUNDS}: ${runs.plain.map((r) => Math.round(r.eps).toLocaleString('en')).join(', ')}) | ${Math.round(plainEps).toLocaleString('en')} | |`,
)
console.log(
  `| frozen / plain (median of rounds) | ${median(runs.frozen.map((r, i) => r.eps / runs.plain[i]!.eps)).toFixed(2)} | |`,
)
console.log(`| same decisions in every run | ${same ? 'yes' : 'NO'} | yes |`)
console.log(`| ns/event | ${((seconds * 1e9) / events.length).toFixed(0)} | |`)
console.log(`| tracked principals (mixed run) | ${s.tracked.toLocaleString('en')} | |`)
console.log(`| bytes per principal (mixed run) | ${Math.round(mixedBytes)} | |`)
console.log(
  `| bytes per idle principal (3 requests, 1 record) | ${Math.round(idleBytes)} | <= 512 |`,
)
console.log(`| evaluations | ${s.evaluations.toLocaleString('en')} | |`)
console.log(
  `| decisions (observe/mask/throttle/challenge/block) | ${s.decisions.observe}/${s.decisions.mask}/${s.decisions.throttle}/${s.decisions.challenge}/${s.decisions.block} | |`,
)
console.log(`| events answered block | ${blocked.toLocaleString('en')} | |`)
