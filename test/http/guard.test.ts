import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createGuard, type RequestFacts } from '../../src/http/index.ts'
import { RecordingEngine, testKeyer } from './support.ts'

const request = (remoteAddress: string): RequestFacts => ({
  method: 'GET',
  url: '/api/users/1',
  remoteAddress,
  headers: { 'user-agent': 'Mozilla/5.0', 'accept-language': 'en' },
})

describe('guard', () => {
  it('skips allowlisted networks and principals entirely: no judging, no accounting', () => {
    const engine = new RecordingEngine()
    engine.verdicts.set('ip:10.1.2.3', 'block')
    engine.verdicts.set('ip:fe80::1', 'block')
    const guard = createGuard({
      engine,
      keyer: testKeyer(),
      allowlist: ['10.0.0.0/8', 'fe80::/10'],
    })
    for (const address of ['10.1.2.3', 'fe80::1']) {
      const gate = guard.begin(request(address))
      assert.equal(gate.skip, true)
      assert.equal(gate.answer, undefined)
      assert.equal(
        gate.finish({ status: 200, bytes: 10, contentType: 'application/json' }),
        undefined,
      )
    }
    assert.equal(engine.judged.length, 0)
    assert.equal(engine.events.length, 0)
    // Outside the allowlist the same verdict is enforced.
    engine.verdicts.set('ip:11.1.2.3', 'block')
    assert.equal(guard.begin(request('11.1.2.3')).answer?.status, 403)
  })

  it('enforces nothing in shadow mode but still accounts every response', () => {
    const engine = new RecordingEngine()
    engine.verdicts.set('ip:192.0.2.1', 'block')
    const guard = createGuard({ engine, keyer: testKeyer(), shadow: true })
    const gate = guard.begin(request('192.0.2.1'))
    assert.equal(gate.answer, undefined)
    assert.equal(gate.action, 'allow')
    assert.equal(gate.mask, false)
    assert.equal(gate.decision?.action, 'block')
    gate.finish({ status: 200, bytes: 10, contentType: 'application/json' })
    assert.equal(engine.events.length, 1)
  })

  it('delays instead of refusing when throttling is set to delay, and masks', () => {
    const engine = new RecordingEngine()
    engine.verdicts.set('ip:192.0.2.1', 'throttle')
    const guard = createGuard({
      engine,
      keyer: testKeyer(),
      throttle: { mode: 'delay', delayMs: 1500 },
    })
    const gate = guard.begin(request('192.0.2.1'))
    assert.equal(gate.answer, undefined)
    assert.equal(gate.delayMs, 1500)
    assert.equal(gate.mask, true)
  })

  it('accounts responses finished soon after the current turn, in order, and reports failures', async () => {
    const engine = new RecordingEngine()
    const errors: unknown[] = []
    const guard = createGuard({
      engine,
      keyer: testKeyer(),
      allowlist: ['10.0.0.0/8'],
      onAccountingError: (e) => errors.push(e),
    })
    guard.begin(request('192.0.2.1')).finishSoon({ status: 200, bytes: 1, contentType: undefined })
    guard.begin(request('10.0.0.1')).finishSoon({ status: 200, bytes: 2, contentType: undefined })
    guard.begin(request('192.0.2.2')).finishSoon({ status: 404, bytes: 3, contentType: undefined })
    // Nothing is accounted while the responses are being written.
    assert.equal(engine.events.length, 0)
    await new Promise((resolve) => setImmediate(resolve))
    // The allowlisted one is skipped; the others arrive in the order they were finished.
    assert.deepEqual(
      engine.events.map((e) => [e.client.ip, e.status]),
      [
        ['192.0.2.1', 200],
        ['192.0.2.2', 404],
      ],
    )
    // An engine that throws loses that one response, not the rest of the turn's.
    const failing = createGuard({
      engine: {
        judge: (p, t) => engine.judge(p, t),
        observe: (event) => {
          if (event.status === 500) throw new Error('broken ledger')
          return engine.observe(event)
        },
      },
      keyer: testKeyer(),
      onAccountingError: (e) => errors.push(e),
    })
    engine.events.length = 0
    failing
      .begin(request('192.0.2.3'))
      .finishSoon({ status: 500, bytes: 1, contentType: undefined })
    failing
      .begin(request('192.0.2.4'))
      .finishSoon({ status: 200, bytes: 1, contentType: undefined })
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(errors.length, 1)
    assert.equal((errors[0] as Error).message, 'broken ledger')
    assert.deepEqual(
      engine.events.map((e) => e.client.ip),
      ['192.0.2.4'],
    )
  })
})
