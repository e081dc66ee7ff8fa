/**
 * The Journal contract: one suite every journal backend passes (SQLite now, PostgreSQL for a
 * fleet). Call {@link journalContract} from the backend's test file with a factory that returns
 * an EMPTY journal each time (a fresh file, schema or database).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ACTIONS, type Action, type Decision } from '../../src/core/decision.ts'
import type { Alert, Journal } from '../../src/core/ports.ts'

/** How the suite gets journals. */
export interface JournalContractOptions {
  /** A new, empty journal. */
  readonly open: () => Promise<Journal>
  /** Reopens the storage `journal` wrote (after it was closed), when the backend can. */
  readonly reopen?: (journal: Journal) => Promise<Journal>
  /** Passed to describe(): false to run, a reason string to skip. */
  readonly skip?: false | string
}

const T0 = 1_700_000_000_000

/** A decision with realistic, digest-only principals. */
export function sampleDecision(over: Partial<Decision> = {}): Decision {
  return {
    principal: 'account:0a1b2c3d4e5f60',
    actor: 'actor:0a1b2c3d4e5f60',
    action: 'throttle',
    score: 61.25,
    readings: [
      {
        signal: 'distinct-records',
        value: 912,
        contribution: 45.5,
        note: '912 distinct records in 24h, budget 300',
      },
      { signal: 'periodicity', value: 0.031, contribution: 15.75, note: 'gaps vary by 3.1%' },
    ],
    linked: [
      {
        principal: 'ip:203.0.113.7',
        via: 'account:0a1b2c3d4e5f60',
        relation: 'used-from',
        note: 'account:0a1b2c3d4e5f60 was used from ip:203.0.113.7',
      },
    ],
    timeMs: T0,
    expiresAtMs: T0 + 3_600_000,
    shadow: false,
    ...over,
  }
}

/** An alert with realistic, digest-only principals. */
export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    id: `alert-${T0}-1`,
    timeMs: T0,
    actor: 'actor:0a1b2c3d4e5f60',
    principal: 'account:0a1b2c3d4e5f60',
    action: 'block',
    previousAction: 'throttle',
    score: 101,
    readings: [{ signal: 'enumeration', value: 0.97, contribution: 40, note: 'sequential IDs' }],
    message: 'account:0a1b2c3d4e5f60 escalated from throttle to block',
    ...over,
  }
}

async function withJournal(
  open: () => Promise<Journal>,
  body: (j: Journal) => Promise<void>,
): Promise<void> {
  const journal = await open()
  try {
    await body(journal)
  } finally {
    await journal.close()
  }
}

/** Registers the contract suite under `name`. */
export function journalContract(name: string, options: JournalContractOptions): void {
  const { open } = options
  describe(`Journal contract: ${name}`, { skip: options.skip ?? false }, () => {
    it('reads back a decision exactly as recorded', () =>
      withJournal(open, async (j) => {
        const d = sampleDecision({ shadow: true })
        j.recordDecision(d)
        await j.flush()
        assert.deepEqual(await j.decisions(), [d])
      }))

    it('reads back an alert exactly as recorded, once per id', () =>
      withJournal(open, async (j) => {
        const a = sampleAlert()
        j.recordAlert(a)
        j.recordAlert(a)
        await j.flush()
        assert.deepEqual(await j.alerts(), [a])
      }))

    it('starts empty', () =>
      withJournal(open, async (j) => {
        assert.deepEqual(await j.decisions(), [])
        assert.deepEqual(await j.alerts(), [])
        assert.deepEqual(await j.topActors(), [])
      }))

    it('returns newest first, at most 100 unless a limit is given', () =>
      withJournal(open, async (j) => {
        for (let i = 0; i < 150; i++)
          j.recordDecision(sampleDecision({ timeMs: T0 + ((i * 37) % 150) * 1000 }))
        await j.flush()
        const all = await j.decisions()
        assert.equal(all.length, 100)
        assert.equal(all[0]!.timeMs, T0 + 149_000)
        for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.timeMs >= all[i]!.timeMs)
        assert.equal((await j.decisions({ limit: 7 })).length, 7)
        assert.equal((await j.decisions({ limit: 1000 })).length, 150)
        assert.deepEqual(await j.decisions({ limit: 0 }), [])
      }))

    it('filters by principal, actor, time (inclusive) and action', () =>
      withJournal(open, async (j) => {
        const rows: Decision[] = []
        for (let i = 0; i < 12; i++) {
          const d = sampleDecision({
            principal: `ip:198.51.100.${i % 3}`,
            actor: `actor:${i % 2}`,
            action: ACTIONS[i % ACTIONS.length] as Action,
            timeMs: T0 + i * 1000,
          })
          rows.push(d)
          j.recordDecision(d)
        }
        await j.flush()
        const expect = (pred: (d: Decision) => boolean): Decision[] =>
          rows.filter(pred).toSorted((a, b) => b.timeMs - a.timeMs)
        assert.deepEqual(
          await j.decisions({ principal: 'ip:198.51.100.1' }),
          expect((d) => d.principal === 'ip:198.51.100.1'),
        )
        assert.deepEqual(
          await j.decisions({ actor: 'actor:0' }),
          expect((d) => d.actor === 'actor:0'),
        )
        assert.deepEqual(
          await j.decisions({ sinceMs: T0 + 3000, untilMs: T0 + 6000 }),
          expect((d) => d.timeMs >= T0 + 3000 && d.timeMs <= T0 + 6000),
        )
        assert.deepEqual(
          await j.decisions({ actions: ['block', 'challenge'] }),
          expect((d) => d.action === 'block' || d.action === 'challenge'),
        )
        assert.deepEqual(
          await j.decisions({
            actor: 'actor:1',
            actions: ['observe', 'throttle', 'block'],
            sinceMs: T0 + 2000,
          }),
          expect(
            (d) =>
              d.actor === 'actor:1' &&
              ['observe', 'throttle', 'block'].includes(d.action) &&
              d.timeMs >= T0 + 2000,
          ),
        )
        assert.deepEqual(await j.decisions({ actions: [] }), [])
      }))

    it('filters alerts the same way', () =>
      withJournal(open, async (j) => {
        for (let i = 0; i < 6; i++) {
          j.recordAlert(
            sampleAlert({
              id: `a${i}`,
              timeMs: T0 + i,
              actor: `actor:${i % 2}`,
              action: i % 3 === 0 ? 'block' : 'challenge',
            }),
          )
        }
        await j.flush()
        assert.deepEqual(
          (await j.alerts({ actor: 'actor:1' })).map((a) => a.id),
          ['a5', 'a3', 'a1'],
        )
        assert.deepEqual(
          (await j.alerts({ actions: ['block'] })).map((a) => a.id),
          ['a3', 'a0'],
        )
        assert.deepEqual(
          (await j.alerts({ sinceMs: T0 + 4, limit: 1 })).map((a) => a.id),
          ['a5'],
        )
      }))

    it('ranks actors by strongest action, then score, with counts and first/last times', () =>
      withJournal(open, async (j) => {
        j.recordDecision(
          sampleDecision({ actor: 'actor:a', action: 'throttle', score: 70, timeMs: T0 }),
        )
        j.recordDecision(
          sampleDecision({ actor: 'actor:a', action: 'observe', score: 90, timeMs: T0 + 5000 }),
        )
        j.recordDecision(
          sampleDecision({ actor: 'actor:b', action: 'block', score: 40, timeMs: T0 + 1000 }),
        )
        j.recordDecision(
          sampleDecision({ actor: 'actor:c', action: 'throttle', score: 80, timeMs: T0 + 2000 }),
        )
        await j.flush()
        const top = await j.topActors()
        assert.deepEqual(
          top.map((t) => t.actor),
          ['actor:b', 'actor:a', 'actor:c'],
        )
        assert.deepEqual(top[1], {
          actor: 'actor:a',
          decisions: 2,
          strongestAction: 'throttle',
          maxScore: 90,
          firstMs: T0,
          lastMs: T0 + 5000,
        })
        assert.deepEqual(
          (await j.topActors({ sinceMs: T0 + 1500 })).map((t) => t.actor),
          ['actor:c', 'actor:a'],
        )
        assert.equal((await j.topActors({ limit: 1 })).length, 1)
      }))

    it('keeps every record of a large burst', () =>
      withJournal(open, async (j) => {
        for (let i = 0; i < 5000; i++)
          j.recordDecision(
            sampleDecision({ principal: `ip:10.0.${i >> 8}.${i & 255}`, timeMs: T0 + i }),
          )
        await j.flush()
        assert.equal((await j.decisions({ limit: 10_000 })).length, 5000)
      }))

    it('writes buffered records on close, and ignores records after it', async () => {
      const j = await open()
      j.recordDecision(sampleDecision())
      await j.close()
      await j.close()
      j.recordDecision(sampleDecision())
      if (options.reopen !== undefined) {
        const again = await options.reopen(j)
        try {
          assert.equal((await again.decisions()).length, 1)
        } finally {
          await again.close()
        }
      }
    })
  })
}
