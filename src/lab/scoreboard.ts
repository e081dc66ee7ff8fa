import type { Catalogue, Decision, FieldMask, Keyer } from '../core/index.ts'
import { createPopulation } from './population.ts'
import { scenario as scenarioOf, scenarioActors, type ScenarioParams } from './scenarios.ts'
import { ShopState } from './shop/handlers.ts'
import { createSimContext, DAY_MS, PROFILES, type Profile } from './sim/common.ts'
import {
  ACTION_BIT,
  runVirtual,
  type ActorRecord,
  type Exchange,
  type LabEngine,
} from './virtual.ts'

/** The lab's epoch: 1 November 2019, when the reference incident's crawler started. */
export const LAB_EPOCH_MS = Date.UTC(2019, 10, 1)

/** Targets of issue 3, checked on every run. */
export const TARGETS = Object.freeze({
  /** Most distinct records any adversary may take. */
  maxLeakage: 1000,
  /** Benign actors ever blocked. */
  maxBenignBlocked: 0,
  /** Share of benign actors ever challenged, throttled or masked. */
  maxBenignAffectedRate: 0.001,
})

/** Why an actor was stopped: the decision's action, score and readings. */
export interface StopReason {
  readonly action: string
  readonly principal: string
  readonly score: number
  readonly readings: readonly {
    readonly signal: string
    readonly contribution: number
    readonly note: string
  }[]
}

/** One adversary's line on the scoreboard. */
export interface AdversaryScore {
  readonly id: string
  readonly profile: Profile
  readonly requests: number
  readonly refused: number
  readonly masked: number
  /** Distinct records whose protected fields reached it in the clear, over all its identities. */
  readonly leakage: number
  /** From its first request to the moment after which it got no protected field; null: never. */
  readonly timeToStopMs: number | null
  readonly stoppedBy: StopReason | null
}

/** Benign counts: actors ever affected by each action. */
export interface BenignCounts {
  readonly actors: number
  readonly blocked: number
  readonly challenged: number
  readonly throttled: number
  readonly masked: number
}

/** One target and whether the run met it. */
export interface TargetResult {
  readonly target: string
  readonly met: boolean
  readonly detail: string
}

/** The scoreboard's JSON (schema in docs/lab.md). */
export interface Scoreboard {
  readonly scenario: string
  readonly seed: number
  readonly days: number
  readonly users: number
  readonly guarded: boolean
  readonly startMs: number
  readonly events: number
  readonly wallMs: number
  readonly eventsPerSecond: number
  readonly adversaries: readonly AdversaryScore[]
  readonly benign: BenignCounts & {
    readonly rates: {
      readonly blocked: number
      readonly challenged: number
      readonly throttled: number
      readonly masked: number
      readonly affected: number
    }
    readonly byProfile: Readonly<Partial<Record<Profile, BenignCounts>>>
    /** Up to 5 affected benign actors with the decision that hit them first. */
    readonly examples: readonly {
      readonly actor: string
      readonly profile: Profile
      readonly stoppedBy: StopReason | null
    }[]
  }
  readonly targets: readonly TargetResult[]
  /** True when every target was met. */
  readonly ok: boolean
}

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  readonly scenario: string
  readonly seed?: number
  /** @default the scenario's days */
  readonly days?: number
  /** Population size. @default 200000 */
  readonly users?: number
  readonly catalogue: Catalogue
  readonly keyer: Keyer
  /** The guard; undefined measures the unguarded shop. */
  readonly engine?: LabEngine | undefined
  readonly protectedMask: FieldMask
  /** Override simulator parameters (tests, small runs). */
  readonly params?: ScenarioParams
  readonly onExchange?: (exchange: Exchange) => void
  readonly onProgress?: (timeMs: number, events: number) => void
}

function reason(decision: Decision | undefined): StopReason | null {
  if (decision === undefined) return null
  return {
    action: decision.action,
    principal: decision.principal,
    score: Math.round(decision.score * 10) / 10,
    readings: decision.readings
      .filter((r) => r.contribution > 0)
      .map((r) => ({
        signal: r.signal,
        contribution: Math.round(r.contribution * 10) / 10,
        note: r.note,
      })),
  }
}

function counts(records: readonly ActorRecord[]): BenignCounts {
  let blocked = 0,
    challenged = 0,
    throttled = 0,
    masked = 0
  for (const r of records) {
    if (r.actions & ACTION_BIT.block) blocked++
    if (r.actions & ACTION_BIT.challenge) challenged++
    if (r.actions & ACTION_BIT.throttle) throttled++
    if (r.actions & ACTION_BIT.mask) masked++
  }
  return { actors: records.length, blocked, challenged, throttled, masked }
}

/** Runs a scenario on the virtual clock and scores it. */
export function runScenario(options: RunScenarioOptions): Scoreboard {
  const sc = scenarioOf(options.scenario)
  const seed = (options.seed ?? 1) >>> 0
  const days = options.days ?? sc.days
  const population = createPopulation({ seed, users: options.users ?? 200_000 })
  const state = new ShopState(population)
  const ctx = createSimContext(population, seed, LAB_EPOCH_MS, days, 'virtual')
  const actors = scenarioActors(ctx, { ...sc.params, ...options.params })
  const run = runVirtual({
    state,
    actors,
    catalogue: options.catalogue,
    keyer: options.keyer,
    engine: options.engine,
    protectedMask: options.protectedMask,
    endMs: LAB_EPOCH_MS + days * DAY_MS,
    ...(options.onExchange === undefined ? {} : { onExchange: options.onExchange }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  })
  return score(
    options.scenario,
    seed,
    days,
    population.users,
    options.engine !== undefined,
    run.actors,
    run.events,
    run.wallMs,
  )
}

/** Scores actor records against the targets. */
export function score(
  scenario: string,
  seed: number,
  days: number,
  users: number,
  guarded: boolean,
  records: readonly ActorRecord[],
  events: number,
  wallMs: number,
): Scoreboard {
  const adversaries: AdversaryScore[] = records
    .filter((r) => r.kind === 'adversary')
    .map((r) => ({
      id: r.id,
      profile: r.profile,
      requests: r.requests,
      refused: r.refused,
      masked: r.masked,
      leakage: r.leaked.size,
      timeToStopMs: r.stoppedAtMs >= 0 && r.firstMs >= 0 ? r.stoppedAtMs - r.firstMs : null,
      stoppedBy: reason(r.firstDecision),
    }))
  const benignRecords = records.filter((r) => r.kind === 'benign')
  const all = counts(benignRecords)
  const byProfile: Partial<Record<Profile, BenignCounts>> = {}
  for (const p of PROFILES) {
    const rs = benignRecords.filter((r) => r.profile === p)
    if (rs.length > 0) byProfile[p] = counts(rs)
  }
  const affected = benignRecords.filter((r) => r.actions !== 0)
  const n = Math.max(1, all.actors)
  const rates = {
    blocked: all.blocked / n,
    challenged: all.challenged / n,
    throttled: all.throttled / n,
    masked: all.masked / n,
    affected: affected.length / n,
  }
  const targets: TargetResult[] = []
  for (const a of adversaries) {
    targets.push({
      target: `${a.id} leakage <= ${TARGETS.maxLeakage}`,
      met: a.leakage <= TARGETS.maxLeakage,
      detail: `${a.leakage.toLocaleString('en-US')} records${a.leakage > TARGETS.maxLeakage ? ` (${(a.leakage / TARGETS.maxLeakage).toFixed(1)}x the target)` : ''}`,
    })
  }
  targets.push({
    target: 'no benign actor blocked',
    met: all.blocked <= TARGETS.maxBenignBlocked,
    detail: `${all.blocked} of ${all.actors} blocked`,
  })
  targets.push({
    target: `<= ${TARGETS.maxBenignAffectedRate * 100}% benign challenged, throttled or masked`,
    met: rates.affected <= TARGETS.maxBenignAffectedRate,
    detail: `${affected.length} of ${all.actors} (${(rates.affected * 100).toFixed(3)}%)`,
  })
  return {
    scenario,
    seed,
    days,
    users,
    guarded,
    startMs: LAB_EPOCH_MS,
    events,
    wallMs: Math.round(wallMs),
    eventsPerSecond: Math.round(events / Math.max(0.001, wallMs / 1000)),
    adversaries,
    benign: {
      ...all,
      rates,
      byProfile,
      examples: affected
        .slice(0, 5)
        .map((r) => ({ actor: r.id, profile: r.profile, stoppedBy: reason(r.firstDecision) })),
    },
    targets,
    ok: targets.every((t) => t.met),
  }
}

function duration(ms: number | null): string {
  if (ms === null) return 'never'
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (ms < 2 * DAY_MS) return `${(ms / 3_600_000).toFixed(1)} h`
  return `${(ms / DAY_MS).toFixed(1)} d`
}

const pct = (x: number) => `${(x * 100).toFixed(3)}%`
const num = (x: number) => x.toLocaleString('en-US')

/** The scoreboard as text for a terminal. */
export function formatScoreboard(s: Scoreboard): string {
  const lines: string[] = []
  lines.push(
    `scenario ${s.scenario} · seed ${s.seed} · ${s.days} days · ${num(s.users)} users · ${s.guarded ? 'guarded' : 'UNGUARDED baseline'}`,
  )
  lines.push(
    `${num(s.events)} events in ${(s.wallMs / 1000).toFixed(1)} s (${num(s.eventsPerSecond)} events/s)`,
  )
  lines.push('')
  if (s.adversaries.length > 0) {
    lines.push('adversary  requests      refused     masked   leakage  time to stop  stopped by')
    for (const a of s.adversaries) {
      const by =
        a.stoppedBy === null
          ? '-'
          : `${a.stoppedBy.action}: ${a.stoppedBy.readings
              .slice(0, 3)
              .map((r) => r.signal)
              .join(', ')}`
      lines.push(
        `${a.id.padEnd(9)} ${num(a.requests).padStart(10)} ${num(a.refused).padStart(12)} ${num(a.masked).padStart(10)} ${num(a.leakage).padStart(9)}  ${duration(a.timeToStopMs).padStart(12)}  ${by}`,
      )
    }
    lines.push('')
  }
  const b = s.benign
  lines.push(`benign     actors  blocked  challenged  throttled  masked`)
  for (const [p, c] of Object.entries(b.byProfile)) {
    lines.push(
      `  ${p.padEnd(7)} ${num(c.actors).padStart(7)} ${String(c.blocked).padStart(8)} ${String(c.challenged).padStart(11)} ${String(c.throttled).padStart(10)} ${String(c.masked).padStart(7)}`,
    )
  }
  lines.push(
    `  ${'total'.padEnd(7)} ${num(b.actors).padStart(7)} ${String(b.blocked).padStart(8)} ${String(b.challenged).padStart(11)} ${String(b.throttled).padStart(10)} ${String(b.masked).padStart(7)}`,
  )
  lines.push(
    `  rates           ${pct(b.rates.blocked).padStart(8)} ${pct(b.rates.challenged).padStart(11)} ${pct(b.rates.throttled).padStart(10)} ${pct(b.rates.masked).padStart(7)}`,
  )
  for (const e of b.examples) {
    lines.push(
      `  e.g. ${e.actor} (${e.profile}): ${e.stoppedBy === null ? '?' : `${e.stoppedBy.action} on ${e.stoppedBy.principal.split(':')[0]}: ${e.stoppedBy.readings.map((r) => r.note).join('; ')}`}`,
    )
  }
  lines.push('')
  for (const t of s.targets) lines.push(`${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.detail}`)
  lines.push(
    s.ok
      ? 'all targets met'
      : `TARGETS MISSED: ${s.targets.filter((t) => !t.met).length} of ${s.targets.length}`,
  )
  return lines.join('\n')
}
