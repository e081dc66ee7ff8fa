import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type { Alert, Decision } from '../../src/core/index.ts'
import { RecordBuffer } from '../../src/journal/record-buffer.ts'

const decision = (timeMs: number) => ({ timeMs }) as unknown as Decision
const alert = (id: string) => ({ id }) as unknown as Alert

describe('RecordBuffer', () => {
  it('drops the oldest decision first past its bound, and counts it', () => {
    const b = new RecordBuffer(3)
    b.pushAlert(alert('a'))
    for (const t of [1, 2, 3]) b.pushDecision(decision(t))
    assert.deepEqual(
      b.decisions.map((d) => d.timeMs),
      [2, 3],
    )
    assert.equal(b.alerts.length, 1)
    assert.equal(b.dropped, 1)
  })

  it('puts a failed batch back in front and drops only what exceeds the bound', () => {
    const b = new RecordBuffer(4)
    for (const t of [1, 2, 3]) b.pushDecision(decision(t))
    const batch = b.take(2)
    assert.deepEqual(
      batch.decisions.map((d) => d.timeMs),
      [1, 2],
    )
    b.pushDecision(decision(4))
    b.pushAlert(alert('x'))
    b.pushAlert(alert('y'))
    b.putBack(batch.decisions, batch.alerts)
    assert.equal(b.size, 4)
    assert.equal(b.dropped, 2)
    assert.deepEqual(
      b.decisions.map((d) => d.timeMs),
      [3, 4],
    )
  })
})
