// Short version of the lab behind the proxy (the full 10-minute report:
// npx node test/e2e/lab-proxy.ts 600 60). 40 s of real time at x120 (80 virtual minutes: every
// adversary has started by then). Asserts what the inline guard must guarantee on any run:
// adversaries rotate loopback addresses as their profiles say, each takes at most 1,000 records
// in the clear, and no benign client is ever blocked. The per-profile table is printed as
// diagnostics. Not a timed test: compressed time only paces the simulators.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatOutcomes, runLabBehindProxy, type ProfileOutcome } from './lab-proxy.ts'

const adversary = (r: Record<string, ProfileOutcome>, p: string): ProfileOutcome => {
  const a = r[p]
  assert.ok(a !== undefined && a.requests > 0, `${p} sent no request`)
  return a
}

describe('lab populations over HTTP behind the proxy', () => {
  // One run for the three checks (the first check to ask starts it and prints the table).
  let run: Promise<Record<string, ProfileOutcome>> | undefined
  const ran = (t: { diagnostic(m: string): void }) => {
    if (run === undefined) {
      run = runLabBehindProxy(40_000, 120)
      void run.then((r) => {
        for (const line of formatOutcomes(r).split('\n')) t.diagnostic(line)
      })
    }
    return run
  }
  it('sends every request from 127.0.0.0/8, each adversary rotating addresses as its profile says', async (t) => {
    const r = await ran(t)
    for (const [p, o] of Object.entries(r)) assert.equal(o.nonLoopback, 0, `${p} left loopback`)
    // A1: one partner key from 1-3 addresses; A2: one address; A4: its accounts over <= 10.
    assert.ok(adversary(r, 'A1').addresses <= 3)
    assert.equal(adversary(r, 'A2').addresses, 1)
    assert.ok(adversary(r, 'A4').addresses <= 10)
    // A3: a proxy pool over many /24s; A5: accounts spread over many addresses.
    const a3 = adversary(r, 'A3')
    assert.ok(a3.addresses >= 200 && a3.networks >= 100, `A3: ${a3.addresses} (${a3.networks})`)
    assert.ok(adversary(r, 'A5').networks >= 20, `A5: ${r['A5']!.networks} /24s`)
  })

  it('lets each adversary take at most 1,000 records in the clear', async (t) => {
    const r = await ran(t)
    for (const p of ['A1', 'A2', 'A3', 'A4', 'A5']) {
      const a = adversary(r, p)
      assert.ok(a.leaked <= 1000, `${p} took ${a.leaked} records in the clear`)
    }
    // The sprinter is refused outright, not only masked.
    assert.ok(r['A2']!.refused > 0, 'A2 was never refused')
  })

  it('never blocks a benign client', async (t) => {
    const r = await ran(t)
    const benign = Object.entries(r).filter(([p]) => p.startsWith('B'))
    assert.ok(benign.length >= 4, 'too few benign populations ran')
    for (const [p, o] of benign)
      assert.equal(
        o.blocked,
        0,
        `${p} was blocked ${o.blocked} times: ${o.refusalReasons.join('; ')}`,
      )
  })
})
