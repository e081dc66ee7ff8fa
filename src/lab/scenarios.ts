import { HarvestGuardError } from '../core/index.ts'
import { createA1, type A1Options } from './sim/a1-partner-insider.ts'
import { createA2, type A2Options } from './sim/a2-sprinter.ts'
import { createA3, type A3Options } from './sim/a3-swarm.ts'
import { createA4, type A4Options } from './sim/a4-mimic.ts'
import { createA5, type A5Options } from './sim/a5-account-farm.ts'
import { createB1, type B1Options } from './sim/b1-shoppers.ts'
import { createB2, type B2Options } from './sim/b2-heavy-shoppers.ts'
import { createB3, type B3Options } from './sim/b3-buyers.ts'
import { createB4, type B4Options } from './sim/b4-service-desk.ts'
import { createB5, type B5Options } from './sim/b5-crawler.ts'
import { createB6, type B6Options } from './sim/b6-shared-nat.ts'
import type { SimActor, SimContext } from './sim/common.ts'

/**
 * Named scenarios: which simulators run, with which parameters, for how long by default.
 * Benign populations are samples (thousands of people, not the 200,000 users of the
 * population): enough for false-positive rates at the 0.1% level, small enough to replay
 * months in minutes.
 */

/** Scenario names accepted by `harvestguard lab run|logs`. */
export const SCENARIO_NAMES = [
  'taobao-2020',
  'a1',
  'a2',
  'a3',
  'a4',
  'a5',
  'benign',
  'everything',
] as const
/** One of {@link SCENARIO_NAMES}. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/** Parameters of every simulator; a scenario sets some, the rest keep their defaults. */
export interface ScenarioParams {
  readonly a1?: A1Options | false
  readonly a2?: A2Options | false
  readonly a3?: A3Options | false
  readonly a4?: A4Options | false
  readonly a5?: A5Options | false
  readonly b1?: B1Options | false
  readonly b2?: B2Options | false
  readonly b3?: B3Options | false
  readonly b4?: B4Options | false
  readonly b5?: B5Options | false
  readonly b6?: B6Options | false
}

/** A scenario: a description, default days and the simulators in it. */
export interface Scenario {
  readonly name: ScenarioName
  readonly description: string
  readonly days: number
  readonly params: ScenarioParams
}

// The benign mix every scenario carries: about 3,300 people.
const BENIGN: ScenarioParams = {
  b1: { actors: 2000 },
  b2: { actors: 20 },
  b3: { actors: 300 },
  b4: { desks: 4 },
  b5: { actors: 2 },
  b6: { nats: 2, usersPerNat: 200 },
}
const NO_ADVERSARY = { a1: false, a2: false, a3: false, a4: false, a5: false } as const

/** Every scenario by name. */
export const SCENARIOS: Readonly<Record<ScenarioName, Scenario>> = {
  'taobao-2020': {
    name: 'taobao-2020',
    description:
      'A1, the partner insider of the 2019-2020 breach, among a realistic population, for 8 months',
    days: 240,
    // A leaner benign sample than the other scenarios (240 days must replay in minutes), with
    // every population present and the partner desks (A1's look-alikes) in full.
    params: {
      ...NO_ADVERSARY,
      a1: {},
      b1: { actors: 250 },
      b2: { actors: 3 },
      b3: { actors: 60 },
      b4: { desks: 4 },
      b5: { actors: 1, gapMs: 60_000 },
      b6: { nats: 1, usersPerNat: 60 },
    },
  },
  a1: {
    name: 'a1',
    description: 'A1 partner insider among the benign mix',
    days: 14,
    params: { ...BENIGN, ...NO_ADVERSARY, a1: {} },
  },
  a2: {
    name: 'a2',
    description: 'A2 sprinter among the benign mix',
    days: 7,
    params: { ...BENIGN, ...NO_ADVERSARY, a2: {} },
  },
  a3: {
    name: 'a3',
    description: 'A3 swarm among the benign mix',
    days: 7,
    params: { ...BENIGN, ...NO_ADVERSARY, a3: {} },
  },
  a4: {
    name: 'a4',
    description: 'A4 mimic among the benign mix',
    days: 14,
    params: { ...BENIGN, ...NO_ADVERSARY, a4: {} },
  },
  a5: {
    name: 'a5',
    description: 'A5 account farm among the benign mix',
    days: 14,
    params: { ...BENIGN, ...NO_ADVERSARY, a5: {} },
  },
  benign: {
    name: 'benign',
    description: 'the benign mix alone (false positives only)',
    days: 14,
    params: { ...BENIGN, ...NO_ADVERSARY },
  },
  everything: {
    name: 'everything',
    description: 'all adversaries A1-A5 and all benign populations B1-B6 at once',
    days: 30,
    params: { ...BENIGN, a1: {}, a2: {}, a3: {}, a4: {}, a5: {} },
  },
}

/** The scenario of a name; throws HG_LAB_SCENARIO for an unknown one. */
export function scenario(name: string): Scenario {
  if (!(SCENARIO_NAMES as readonly string[]).includes(name)) {
    throw new HarvestGuardError(
      'HG_LAB_SCENARIO',
      `unknown scenario "${name}"; expected one of ${SCENARIO_NAMES.join(', ')}`,
    )
  }
  return SCENARIOS[name as ScenarioName]
}

/** Builds a scenario's actors, adversaries first. */
export function scenarioActors(ctx: SimContext, params: ScenarioParams): SimActor[] {
  const out: SimActor[] = []
  const add = <O>(options: O | false | undefined, create: (c: SimContext, o: O) => SimActor[]) => {
    if (options !== undefined && options !== false) out.push(...create(ctx, options))
  }
  add(params.a1, createA1)
  add(params.a2, createA2)
  add(params.a3, createA3)
  add(params.a4, createA4)
  add(params.a5, createA5)
  add(params.b1, createB1)
  add(params.b2, createB2)
  add(params.b3, createB3)
  add(params.b4, createB4)
  add(params.b5, createB5)
  add(params.b6, createB6)
  return out
}
