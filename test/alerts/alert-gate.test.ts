import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Decision } from '../../src/core/decision.ts'
import type { Alert, AlertSink } from '../../src/core/ports.ts'
import { AlertGate, JsonLinesAlertSink } from '../../src/alerts/index.ts'

function decision(over: Partial<Decision>): Decision {
  return {
    principal: 'ip:203.0.113.7',
    actor: 'ip:203.0.113.7',
    action: 'throttle',
    score: 40,
    readings: [
      {
        signal: 'distinct-records',
        value: 900,
        contribution: 30,
        note: '900 distinct records in 1h, budget 300',
      },
      { signal: 'night', value: 0.9, contribution: 10, note: '90% of requests at night' },
    ],
    linked: [],
    timeMs: 1000,
    expiresAtMs: 61_000,
    shadow: false,
    ...over,
  }
}

class CollectingSink implements AlertSink {
  readonly alerts: Alert[] = []
  send(alert: Alert): void {
    this.alerts.push(alert)
  }
  async close(): Promise<void> {}
}

describe('AlertGate', () => {
  it('alerts once per actor and escalation, not per request', () => {
    const sink = new CollectingSink()
    const gate = new AlertGate({ sinks: [sink] })
    for (let t = 1000; t < 50_000; t += 100)
      gate.consider(decision({ timeMs: t, expiresAtMs: t + 60_000 }))
    gate.consider(decision({ action: 'block', score: 80, timeMs: 50_000, expiresAtMs: 110_000 }))
    for (let t = 50_100; t < 100_000; t += 100)
      gate.consider(decision({ action: 'block', timeMs: t, expiresAtMs: t + 60_000 }))
    gate.consider(decision({ action: 'throttle', timeMs: 100_000, expiresAtMs: 160_000 }))
    assert.deepEqual(
      sink.alerts.map((a) => [a.previousAction, a.action]),
      [
        ['allow', 'throttle'],
        ['throttle', 'block'],
      ],
    )
    assert.equal(gate.raised, 2)
  })

  it('alerts again when an actor comes back after its decision lapsed', () => {
    const sink = new CollectingSink()
    const gate = new AlertGate({ sinks: [sink] })
    gate.consider(decision({ timeMs: 0, expiresAtMs: 1000 }))
    gate.consider(decision({ timeMs: 5000, expiresAtMs: 6000 }))
    assert.deepEqual(
      sink.alerts.map((a) => a.previousAction),
      ['allow', 'allow'],
    )
  })

  it('ignores actions below minAction', () => {
    const sink = new CollectingSink()
    const gate = new AlertGate({ sinks: [sink], minAction: 'block' })
    gate.consider(decision({ action: 'challenge' }))
    assert.equal(sink.alerts.length, 0)
  })

  it('explains who, what and why in one line with a stable id', () => {
    const gate = new AlertGate()
    const a = gate.consider(decision({ actor: 'net:203.0.113.0/24' }))
    const b = new AlertGate().consider(decision({ actor: 'net:203.0.113.0/24' }))
    assert.equal(
      a?.message,
      'net:203.0.113.0/24 (ip:203.0.113.7) escalated allow -> throttle, score 40: 900 distinct records in 1h, budget 300; 90% of requests at night',
    )
    assert.equal(a?.id, b?.id)
  })

  it('remembers at most maxActors actors', () => {
    const gate = new AlertGate({ maxActors: 10 })
    for (let i = 0; i < 1000; i++)
      gate.consider(decision({ actor: `ip:10.0.${i >> 8}.${i & 255}` }))
    assert.equal(gate.trackedActors, 10)
    assert.equal(gate.raised, 1000)
  })

  it('records every alert in the journal too', () => {
    const recorded: Alert[] = []
    const journal = {
      recordDecision() {},
      recordAlert: (a: Alert) => recorded.push(a),
      flush: async () => {},
      decisions: async () => [],
      alerts: async () => [],
      topActors: async () => [],
      close: async () => {},
    }
    const gate = new AlertGate({ journal })
    gate.consider(decision({}))
    assert.equal(recorded.length, 1)
  })
})

describe('JsonLinesAlertSink', () => {
  it('appends one JSON object per line and keeps earlier lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hg-alerts-'))
    try {
      const path = join(dir, 'alerts.jsonl')
      const gate = new AlertGate()
      const a1 = gate.consider(decision({ actor: 'a1' }))
      const a2 = gate.consider(decision({ actor: 'a2' }))
      const first = new JsonLinesAlertSink({ path })
      if (a1 !== undefined) first.send(a1)
      await first.close()
      const second = new JsonLinesAlertSink({ path })
      if (a2 !== undefined) second.send(a2)
      await second.close()
      const lines = readFileSync(path, 'utf8').trimEnd().split('\n')
      assert.deepEqual(
        lines.map((l) => JSON.parse(l) as Alert),
        [a1, a2],
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reports an unwritable file instead of throwing', async () => {
    const errors: string[] = []
    const sink = new JsonLinesAlertSink({
      path: '/nonexistent-dir/alerts.jsonl',
      onError: (e) => errors.push(e.code),
    })
    sink.send(new AlertGate().consider(decision({})) as Alert)
    await sink.close()
    assert.deepEqual(errors, ['HG_ALERT_FILE_FAILED'])
  })
})
