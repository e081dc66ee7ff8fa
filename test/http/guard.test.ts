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
})
