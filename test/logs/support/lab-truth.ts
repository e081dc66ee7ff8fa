/**
 * Scores an `analyze --json` report against the ground truth of `harvestguard lab logs`: which
 * adversary identities (addresses, accounts, keys) ended up in harvester actors, and which
 * benign actors were flagged. Accounts and keys are compared as keyed digests, as the report
 * holds them. Used by the done-when test and the benchmark.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runAnalyze, type AnalyzeOptions } from '../../../src/cli/commands/analyze.ts'
import { digestHex } from '../../../src/core/exposure.ts'
import type { Keyer } from '../../../src/core/ports.ts'
import { loadLabSetup, SHOP_CONFIG_PATH, writeScenarioLogs } from '../../../src/lab/index.ts'
import type { AnalyzeJson } from '../../../src/report/index.ts'

/** `harvestguard lab logs --truth` (the fields read here). */
export interface LabTruth {
  readonly actors: readonly {
    readonly id: string
    readonly profile: string
    readonly kind: 'adversary' | 'benign'
    readonly ips: readonly string[]
    readonly accounts: readonly string[]
    readonly keys: readonly string[]
  }[]
}

/** One adversary's outcome. */
export interface AdversaryOutcome {
  readonly id: string
  readonly profile: string
  /** Identities in a harvester actor / all identities, per kind. */
  readonly ips: readonly [number, number]
  readonly accounts: readonly [number, number]
  readonly keys: readonly [number, number]
  /** Identities that appeared in the log at all (some adversary identities may stay unused). */
  readonly seen: number
  readonly ok: boolean
}

/** The score of one report. */
export interface TruthScore {
  readonly adversaries: readonly AdversaryOutcome[]
  readonly benign: number
  /** Benign actors (ids) with an identity in a harvester / suspect actor. */
  readonly benignHarvester: readonly string[]
  readonly benignSuspect: readonly string[]
}

/**
 * Scores `report` against `truth`. The report must list every actor (`--benign-limit` high
 * enough): an identity missing from it counts as never seen in the log, not as a miss.
 */
export function scoreAgainstTruth(report: AnalyzeJson, truth: LabTruth, keyer: Keyer): TruthScore {
  const verdictOf = new Map<string, 'harvester' | 'suspect'>()
  const seen = new Set<string>()
  const mark = (p: string, v: string): void => {
    if (v === 'benign') {
      seen.add(p)
      return
    }
    seen.add(p)
    if (verdictOf.get(p) !== 'harvester') verdictOf.set(p, v as 'harvester' | 'suspect')
  }
  for (const a of report.actors) {
    for (const ip of a.principals.ip) mark(`ip:${ip}`, a.verdict)
    for (const acc of a.principals.account) mark(`account:${acc}`, a.verdict)
    for (const k of a.principals.key) mark(`key:${k}`, a.verdict)
  }
  const account = (raw: string): string => `account:${digestHex(keyer.digest('account', raw))}`
  const key = (raw: string): string => `key:${digestHex(keyer.digest('key', raw))}`
  const adversaryIps = new Set<string>()
  for (const t of truth.actors)
    if (t.kind === 'adversary') for (const ip of t.ips) adversaryIps.add(ip)

  const adversaries: AdversaryOutcome[] = []
  const benignHarvester: string[] = []
  const benignSuspect: string[] = []
  let benign = 0
  for (const t of truth.actors) {
    const ids = [
      ...t.ips.map((ip) => ({ kind: 'ip', p: `ip:${ip}` })),
      ...t.accounts.map((a) => ({ kind: 'account', p: account(a) })),
      ...t.keys.map((k) => ({ kind: 'key', p: key(k) })),
    ]
    if (t.kind === 'adversary') {
      const count = (kind: string): [number, number] => {
        // only identities the log shows can be attributed
        const mine = ids.filter((x) => x.kind === kind && seen.has(x.p))
        return [mine.filter((x) => verdictOf.get(x.p) === 'harvester').length, mine.length]
      }
      const ipc = count('ip')
      const acc = count('account')
      const kc = count('key')
      adversaries.push({
        id: t.id,
        profile: t.profile,
        ips: ipc,
        accounts: acc,
        keys: kc,
        seen: ipc[1] + acc[1] + kc[1],
        ok:
          ipc[0] === ipc[1] && acc[0] === acc[1] && kc[0] === kc[1] && ipc[1] + acc[1] + kc[1] > 0,
      })
    } else {
      benign++
      // a benign actor behind an address an adversary also used (shared NAT) is judged by its
      // accounts and keys only: the address is rightly flagged
      const own = ids.filter((x) => x.kind !== 'ip' || !adversaryIps.has(x.p.slice(3)))
      const vs = own.map((x) => verdictOf.get(x.p))
      if (vs.includes('harvester')) benignHarvester.push(t.id)
      else if (vs.includes('suspect')) benignSuspect.push(t.id)
    }
  }
  return { adversaries, benign, benignHarvester, benignSuspect }
}

/** The config secret of the lab-truth runs. */
export const LAB_TRUTH_ENV = { HARVESTGUARD_SECRET: 'lab-truth-test-secret-0123456789' }
const SMALL = {
  b1: { actors: 300 },
  b2: { actors: 5 },
  b3: { actors: 40 },
  b4: { desks: 2 },
  b5: { actors: 1 },
  b6: { nats: 1, usersPerNat: 40 },
}
/**
 * The lab logs of the done-when check, shrunk (fewer benign actors, fewer days) to keep it to
 * minutes; the benchmark runs the big ones.
 */
export const LAB_TRUTH_CASES = [
  { scenario: 'everything', days: 1, params: { ...SMALL, a1: {}, a2: {}, a3: {}, a4: {}, a5: {} } },
  { scenario: 'taobao-2020', days: 2, params: { ...SMALL, a1: {} } },
] as const

/** One case and seed: its log written into `dir`, analyzed and scored. */
export interface LabTruthRun {
  readonly lines: number
  readonly decisions: number
  readonly analyzeSeconds: number
  readonly truth: LabTruth
  readonly score: TruthScore
}

/**
 * Writes the lab log of `c` and `seed` into `dir` (with its truth), runs `analyze` over it with
 * every actor in the JSON (an identity left out would count as never seen), and scores it.
 */
export async function runLabTruth(
  c: (typeof LAB_TRUTH_CASES)[number],
  seed: number,
  dir: string,
  options: Partial<AnalyzeOptions> = {},
): Promise<LabTruthRun> {
  const setup = loadLabSetup(SHOP_CONFIG_PATH, LAB_TRUTH_ENV)
  const out = join(dir, `${c.scenario}-${seed}.log`)
  const truthFile = join(dir, `${c.scenario}-${seed}.truth.json`)
  const written = await writeScenarioLogs({
    scenario: c.scenario,
    seed,
    days: c.days,
    users: 20_000,
    params: c.params as never,
    out,
    truth: truthFile,
    catalogue: setup.catalogue,
    keyer: setup.keyer,
  })
  const t0 = performance.now()
  const result = await runAnalyze([out], {
    config: SHOP_CONFIG_PATH,
    env: LAB_TRUTH_ENV,
    user: 'auto',
    quiet: true,
    progress: false,
    benignLimit: Number.MAX_SAFE_INTEGER,
    ...options,
  })
  const analyzeSeconds = (performance.now() - t0) / 1000
  const truth = JSON.parse(await readFile(truthFile, 'utf8')) as LabTruth
  return {
    lines: written.lines,
    decisions: result.summary.decisions,
    analyzeSeconds,
    truth,
    score: scoreAgainstTruth(result.json, truth, setup.keyer),
  }
}
