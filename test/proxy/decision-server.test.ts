import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createGuard } from '../../src/http/index.ts'
import { createDecisionServer, type DecisionServer } from '../../src/proxy/index.ts'
import { RecordingEngine, testKeyer } from '../http/support.ts'

describe('decision endpoint', () => {
  const engine = new RecordingEngine()
  let server: DecisionServer
  let url: string
  before(async () => {
    server = createDecisionServer({
      guard: createGuard({
        engine,
        keyer: testKeyer(),
        challenge: { secret: 'decision-secret-0123456789', difficultyBits: 4 },
      }),
    })
    url = await server.listen('127.0.0.1', 0)
  })
  after(() => server.close())

  const ask = (
    path: string,
    address: string,
    extra: Record<string, string> = {},
  ): Promise<Response> =>
    fetch(`${url}${path}`, {
      headers: {
        'x-original-uri': '/api/users/9',
        'x-original-method': 'GET',
        'x-real-ip': address,
        ...extra,
      },
    })

  it('answers 204, 403, 429 and 401 by the client the gateway names, with reasons', async () => {
    engine.verdicts.set('ip:198.51.100.1', 'block')
    engine.verdicts.set('ip:198.51.100.2', 'throttle')
    engine.verdicts.set('ip:198.51.100.3', 'challenge')
    const allow = await ask('/decide', '198.51.100.9')
    assert.equal(allow.status, 204)
    const block = await ask('/decide', '198.51.100.1')
    assert.equal(block.status, 403)
    assert.equal(block.headers.get('x-harvestguard-action'), 'block')
    assert.equal(block.headers.get('x-harvestguard-reasons'), 'distinct-records')
    await block.arrayBuffer()
    const throttle = await ask('/decide', '198.51.100.2')
    assert.equal(throttle.status, 429)
    assert.equal(throttle.headers.get('retry-after'), '30')
    await throttle.arrayBuffer()
    const challenge = await ask('/decide', '198.51.100.3')
    assert.equal(challenge.status, 401)
    await challenge.arrayBuffer()
    // Decisions are judged on the address the gateway reports, not the subrequest's peer.
    assert.deepEqual(engine.judged.at(-1)!.slice(0, 2), ['ip:198.51.100.3', 'net:198.51.100.0/24'])
  })

  it('gives the full answer for the gateway error page: challenge page for browsers', async () => {
    const page = await ask('/answer', '198.51.100.3', { accept: 'text/html' })
    assert.equal(page.status, 403)
    assert.match(await page.text(), /Checking your browser/)
    const api = await ask('/answer', '198.51.100.1', { accept: 'application/json' })
    assert.equal(api.status, 403)
    assert.match(api.headers.get('content-type')!, /problem\+json/)
    await api.arrayBuffer()
    assert.equal((await ask('/answer', '198.51.100.9')).status, 204)
  })

  it('rejects a forged proof at the verify path', async () => {
    const res = await fetch(`${url}/.harvestguard/verify?c=1.4.abc&n=1`, {
      headers: { 'x-real-ip': '198.51.100.3' },
    })
    assert.equal(res.status, 403)
    await res.arrayBuffer()
  })

  it('refuses to listen beyond loopback unless told to', async () => {
    const other = createDecisionServer({ guard: createGuard({ engine, keyer: testKeyer() }) })
    await assert.rejects(other.listen('0.0.0.0', 0), /loopback/)
  })
})
