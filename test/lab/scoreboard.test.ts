import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  ACTION_BIT,
  TARGETS,
  createLabEngine,
  formatScoreboard,
  loadLabSetup,
  runScenario,
  score,
  type ActorRecord,
  type ScenarioParams,
} from '../../src/lab/index.ts'

function record(
  partial: Partial<ActorRecord> & Pick<ActorRecord, 'id' | 'profile' | 'kind'>,
): ActorRecord {
  return {
    requests: 0,
    refused: 0,
    masked: 0,
    leaked: new Set(),
    firstMs: -1,
    lastMs: -1,
    stoppedAtMs: -1,
    actions: 0,
    firstDecision: undefined,
    ips: new Set(),
    accounts: new Set(),
    keys: new Set(),
    ...partial,
  }
}

describe('scoreboard arithmetic', () => {
  const leaked = new Set(Array.from({ length: 1500 }, (_, i) => i))
  const board = score(
    'unit',
    1,
    2,
    100,
    true,
    [
      record({
        id: 'A1',
        profile: 'A1',
        kind: 'adversary',
        requests: 10,
        leaked,
        firstMs: 1000,
        stoppedAtMs: 61_000,
      }),
      record({
        id: 'A2',
        profile: 'A2',
        kind: 'adversary',
        requests: 5,
        leaked: new Set([1, 2]),
        firstMs: 0,
      }),
      ...Array.from({ length: 999 }, (_, i) =>
        record({ id: `B1-${i}`, profile: 'B1', kind: 'benign' }),
      ),
      record({
        id: 'B6-0',
        profile: 'B6',
        kind: 'benign',
        actions: ACTION_BIT.mask | ACTION_BIT.throttle,
      }),
    ],
    0,
    1,
  )

  it('counts leakage as distinct records and time to stop from the first request', () => {
    assert.equal(board.adversaries[0]!.leakage, 1500)
    assert.equal(board.adversaries[0]!.timeToStopMs, 60_000)
    assert.equal(board.adversaries[1]!.timeToStopMs, null)
  })
  it('counts benign actors per action and as rates', () => {
    assert.equal(board.benign.actors, 1000)
    assert.equal(board.benign.masked, 1)
    assert.equal(board.benign.throttled, 1)
    assert.equal(board.benign.blocked, 0)
    assert.equal(board.benign.rates.affected, 0.001)
    assert.deepEqual(board.benign.byProfile.B6, {
      actors: 1,
      blocked: 0,
      challenged: 0,
      throttled: 1,
      masked: 1,
    })
  })
  it('says plainly which target was missed and by how much', () => {
    const missed = board.targets.filter((t) => !t.met)
    assert.deepEqual(
      missed.map((t) => t.target),
      [`A1 leakage <= ${TARGETS.maxLeakage}`],
    )
    assert.match(missed[0]!.detail, /1,500 records \(1\.5x the target\)/)
    assert.equal(board.ok, false)
    assert.match(formatScoreboard(board), /MISSED A1 leakage <= 1000: 1,500 records/)
  })
})

// A short `everything`: every adversary and benign population for half a day, on a small shop.
const SHORT: ScenarioParams = {
  a2: {},
  a3: { ips: 300, budgetRequests: 8_000 },
  a4: { accounts: 10 },
  a5: { accounts: 1000 },
  b1: { actors: 400 },
  b2: { actors: 4 },
  b3: { actors: 60 },
  b4: { desks: 2 },
  b5: { actors: 1 },
  b6: { nats: 1, usersPerNat: 80 },
}

// A measurement of the engine's default policy, not of the lab: while the policy misses targets
// (see docs/lab.md, "Results") these run as `todo`, printing every miss without failing the
// suite. Set MISSES to '' once the policy meets them and the test becomes a gate.
const MISSES: string = ''

describe('targets with the default policy across seeds (a measurement)', () => {
  const setup = loadLabSetup(undefined, { HARVESTGUARD_SECRET: 'lab-test-secret-0123456789abcdef' })
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`meets every target on seed ${seed}`, { todo: MISSES === '' ? false : MISSES }, () => {
      const board = runScenario({
        scenario: 'everything',
        seed,
        days: 0.5,
        users: 10_000,
        params: SHORT,
        catalogue: setup.catalogue,
        keyer: setup.keyer,
        protectedMask: setup.protectedMask,
        engine: createLabEngine(setup),
      })
      assert.equal(board.adversaries.length, 5)
      const missed = board.targets.filter((t) => !t.met).map((t) => `${t.target}: ${t.detail}`)
      assert.deepEqual(missed, [], formatScoreboard(board))
    })
  }
})
