// Attribution of identities to the engine's actors, with and without links through a log's
// device (a user-agent digest shared by strangers).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Decision } from '../../src/core/index.ts'
import { ReportCollector } from '../../src/report/index.ts'

const T = Date.parse('2024-05-01T00:00:00Z')
const DEVICE = 'device:00000000000d01'
const A = 'account:0000000000000a'
const B = 'account:0000000000000b'

function farmDecision(): Decision {
  // the engine's walk from device D: accounts A and B were used from it, A from address 1,
  // B from address 2 (notes as src/core/actors.ts writes them)
  return {
    principal: DEVICE,
    actor: A,
    action: 'block',
    score: 9,
    readings: [],
    linked: [
      { principal: A, note: `${A} was used from ${DEVICE}` },
      { principal: B, note: `${B} was used from ${DEVICE}` },
      { principal: 'ip:192.0.2.1', note: `${A} was used from ip:192.0.2.1` },
      { principal: 'ip:192.0.2.2', note: `${B} was used from ip:192.0.2.2` },
    ],
    timeMs: T,
    expiresAtMs: T + 3600e3,
    shadow: false,
  }
}

function collect(follow: boolean | undefined, extra: Decision[] = []): Map<string, string> {
  const c = new ReportCollector(follow === undefined ? {} : { followDeviceLinks: follow })
  c.addEvent({
    timeMs: T,
    method: 'GET',
    route: '',
    path: '/',
    status: 200,
    bytes: 1,
    resource: 'page',
    principals: ['ip:192.0.2.1', A, DEVICE],
    exposures: [],
    client: { ip: '192.0.2.1', userAgent: 'x', referer: true, anomalies: 0 },
    ordinal: -1,
  })
  c.addEvent({
    timeMs: T,
    method: 'GET',
    route: '',
    path: '/',
    status: 200,
    bytes: 1,
    resource: 'page',
    principals: ['ip:192.0.2.2', B, DEVICE],
    exposures: [],
    client: { ip: '192.0.2.2', userAgent: 'x', referer: true, anomalies: 0 },
    ordinal: -1,
  })
  c.addDecision(farmDecision())
  for (const d of extra) c.addDecision(d)
  // verdict by account, as the report lists them (without the kind prefix)
  const out = new Map<string, string>()
  for (const a of c.actors())
    for (const acc of a.principals.account) out.set(`account:${acc}`, a.verdict)
  return out
}

describe('ReportCollector attribution', () => {
  it("follows the engine's links through a device by default", () => {
    const v = collect(undefined)
    assert.equal(v.get(A), 'harvester')
    assert.equal(v.get(B), 'harvester')
  })

  it('leaves identities linked only through a device to their own decisions when told', () => {
    const own: Decision = { ...farmDecision(), principal: A, actor: A, linked: [] }
    const v = collect(false, [own])
    assert.equal(v.get(A), 'harvester', 'A has a decision of its own')
    assert.equal(v.get(B), 'benign', 'B was reached only through the shared device')
  })

  it('moves a principal to the strongest actor that linked it, not the first', () => {
    const C = 'account:0000000000000c'
    const weak: Decision = {
      ...farmDecision(),
      principal: C,
      actor: C,
      action: 'mask',
      linked: [{ principal: B, note: `${B} was seen on the same requests as ${C}` }],
    }
    const c = new ReportCollector()
    c.addEvent({
      timeMs: T,
      method: 'GET',
      route: '',
      path: '/',
      status: 200,
      bytes: 1,
      resource: 'api',
      principals: ['ip:192.0.2.2', B],
      exposures: [],
      client: { ip: '192.0.2.2', userAgent: 'x', referer: false, anomalies: 0 },
      ordinal: -1,
    })
    c.addDecision(weak) // B first reached by C's mask
    c.addDecision(farmDecision()) // then by the farm's block
    const b = c.actors().find((a) => a.principals.account.includes(B.slice('account:'.length)))
    assert.equal(b?.verdict, 'harvester')
  })
})
