// Attribution of identities to the engine's actors.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Decision, Event } from '../../src/core/index.ts'
import { ReportCollector } from '../../src/report/index.ts'

const T = Date.parse('2024-05-01T00:00:00Z')
const A = 'account:0000000000000a'
const B = 'account:0000000000000b'
const C = 'account:0000000000000c'

function farmDecision(): Decision {
  // the engine's walk from account A: used from address 1, which B was also used from
  return {
    principal: A,
    actor: A,
    action: 'block',
    score: 9,
    readings: [],
    linked: [
      {
        principal: 'ip:192.0.2.1',
        via: A,
        relation: 'used-from',
        note: `${A} was used from ip:192.0.2.1`,
      },
      {
        principal: B,
        via: 'ip:192.0.2.1',
        relation: 'used-from',
        note: `${B} was used from ip:192.0.2.1`,
      },
    ],
    timeMs: T,
    expiresAtMs: T + 3600e3,
    shadow: false,
  }
}

function apiEvent(ip: string, account: string): Event {
  return {
    timeMs: T,
    method: 'GET',
    route: '',
    path: '/',
    status: 200,
    bytes: 1,
    resource: 'api',
    principals: [`ip:${ip}`, account],
    exposures: [],
    client: { ip, userAgent: 'x', referer: false, anomalies: 0 },
    ordinal: -1,
  }
}

function verdictOf(c: ReportCollector, account: string): string | undefined {
  return c.actors().find((a) => a.principals.account.includes(account.slice('account:'.length)))
    ?.verdict
}

describe('ReportCollector attribution', () => {
  it("puts every identity the engine's decision linked into the decided actor", () => {
    const c = new ReportCollector()
    c.addEvent(apiEvent('192.0.2.1', A))
    c.addEvent(apiEvent('192.0.2.1', B))
    c.addEvent(apiEvent('192.0.2.9', C))
    c.addDecision(farmDecision())
    const actors = c.actors()
    const farm = actors.find((a) => a.id === A)
    assert.deepEqual(farm?.principals.account.toSorted(), [A, B].map((p) => p.slice(8)).toSorted())
    assert.equal(farm?.verdict, 'harvester')
    assert.deepEqual(
      farm?.linked.map((l) => [l.principal, l.via, l.relation]),
      [
        ['ip:192.0.2.1', A, 'used-from'],
        [B, 'ip:192.0.2.1', 'used-from'],
      ],
    )
    assert.equal(verdictOf(c, C), 'benign')
  })

  it('moves a principal to the strongest actor that linked it, not the first', () => {
    const weak: Decision = {
      ...farmDecision(),
      principal: C,
      actor: C,
      action: 'mask',
      linked: [
        {
          principal: B,
          via: C,
          relation: 'same-requests',
          note: `${B} was seen on the same requests as ${C}`,
        },
      ],
    }
    const c = new ReportCollector()
    c.addEvent(apiEvent('192.0.2.2', B))
    c.addDecision(weak) // B first reached by C's mask
    c.addDecision(farmDecision()) // then by the farm's block
    assert.equal(verdictOf(c, B), 'harvester')
  })
})
