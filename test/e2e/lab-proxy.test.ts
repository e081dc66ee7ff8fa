// Short version of the lab behind the proxy (the full report: npx node test/e2e/lab-proxy.ts).
// Asserts what the inline guard must guarantee on any run: benign populations are never blocked,
// and the sprinter (A2) is stopped well before 1,000 records. The per-profile table is printed
// as diagnostics; slow distributed adversaries (A3 swarm, A4 mimic) need longer than this run.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { runLabBehindProxy } from './lab-proxy.ts'

describe('lab populations over HTTP behind the proxy', () => {
  it('never blocks benign populations and stops the sprinter', async (t) => {
    const result = await runLabBehindProxy(30_000, 120)
    for (const [profile, r] of Object.entries(result))
      t.diagnostic(
        `${profile}: ${r.requests} requests, ${r.refused} refused, ${r.blocked} blocked, ${r.leaked} records in the clear`,
      )
    for (const [profile, r] of Object.entries(result))
      if (profile.startsWith('B'))
        assert.equal(r.blocked, 0, `${profile} was blocked ${r.blocked} times`)
    const a2 = result['A2']
    assert.ok(a2 !== undefined && a2.requests > 0, 'A2 did not run')
    assert.ok(a2.refused > 0, 'A2 was never refused')
    assert.ok(a2.leaked < 1000, `A2 took ${a2.leaked} records`)
  })
})
