// Walks test/fixtures/scenarios/*: each holds a config (policy.yaml), events (events.jsonl, one
// Event per line, field classes by name) and what must and must not be decided (expected.json).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { parseConfig } from '../../src/config/index.ts'
import {
  actionRank,
  createEngine,
  fieldMask,
  type Action,
  type Decision,
  type Event,
  type FieldClass,
} from '../../src/core/index.ts'

const root = join(import.meta.dirname, '..', 'fixtures', 'scenarios')

interface Expectation {
  readonly principal: string
  readonly atLeast?: Action
  readonly atMost?: Action
  readonly signals?: readonly string[]
  readonly without?: readonly string[]
}

function readEvents(file: string): Event[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        const raw = JSON.parse(line) as Omit<Event, 'exposures'> & {
          exposures: { subject: number; fields: FieldClass[] }[]
        }
        return {
          ...raw,
          exposures: raw.exposures.map((e) => ({
            subject: e.subject,
            fields: fieldMask(e.fields),
          })),
        }
      } catch (cause) {
        throw new Error(`${file}:${i + 1}: ${(cause as Error).message}`, { cause })
      }
    })
}

const scenarios = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .toSorted()

describe('scenarios', () => {
  it('has one scenario per signal at least', () => {
    for (const signal of [
      'distinct-records',
      'enumeration',
      'periodicity',
      'round-the-clock',
      'no-assets',
      'no-referer',
      'header-anomalies',
      'error-ratio',
    ]) {
      assert.ok(scenarios.includes(signal), `no scenario for ${signal}`)
    }
  })

  for (const name of scenarios) {
    it(name, () => {
      const dir = join(root, name)
      const file = join(dir, 'policy.yaml')
      const config = parseConfig(readFileSync(file, 'utf8'), file, { env: {} })
      const engine = createEngine({ policy: config.policy })
      const strongest = new Map<string, Decision>()
      engine.onDecision((d) => {
        const was = strongest.get(d.principal)
        if (was === undefined || actionRank(d.action) >= actionRank(was.action))
          strongest.set(d.principal, d)
      })
      for (const e of readEvents(join(dir, 'events.jsonl'))) engine.observe(e)
      const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
        expect: Expectation[]
      }
      for (const x of expected.expect) {
        const d = strongest.get(x.principal)
        const action: Action = d?.action ?? 'allow'
        const why =
          d === undefined
            ? 'no decision'
            : `${d.action} (${d.readings.map((r) => r.note).join('; ')})`
        if (x.atLeast !== undefined) {
          assert.ok(
            actionRank(action) >= actionRank(x.atLeast),
            `${x.principal}: expected at least ${x.atLeast}, got ${why}`,
          )
        }
        if (x.atMost !== undefined) {
          assert.ok(
            actionRank(action) <= actionRank(x.atMost),
            `${x.principal}: expected at most ${x.atMost}, got ${why}`,
          )
        }
        for (const s of x.signals ?? []) {
          assert.ok(
            d?.readings.some((r) => r.signal === s),
            `${x.principal}: no ${s} reading in ${why}`,
          )
        }
        for (const s of x.without ?? []) {
          assert.ok(
            !d?.readings.some((r) => r.signal === s),
            `${x.principal}: unexpected ${s} in ${why}`,
          )
        }
      }
    })
  }
})
