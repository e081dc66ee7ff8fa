import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import fc from 'fast-check'
import { policySchema } from '../../src/config/policy-schema.ts'
import { ANOMALY, compilePolicy, createEngine, isHarvestGuardError } from '../../src/core/index.ts'
import { MemoryLedgerStore, readSnapshot, writeSnapshot } from '../../src/stores/index.ts'
import { ledgerStoreContract } from '../contracts/ledger-store.ts'

ledgerStoreContract(
  'MemoryLedgerStore',
  ({ maxPrincipals }) => new MemoryLedgerStore({ maxPrincipals }),
)

const policy = compilePolicy(policySchema.parse({}))
const T0 = Date.UTC(2026, 0, 5)
const dir = mkdtempSync(join(tmpdir(), 'hg-snapshot-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function sprinter(engine: ReturnType<typeof createEngine>, n: number, from = 0) {
  for (let i = from; i < from + n; i++) {
    engine.observe({
      timeMs: T0 + i * 50,
      method: 'GET',
      route: 'GET /api/users/:userId',
      path: `/api/users/${5_550_000 + i}`,
      status: 200,
      bytes: 100,
      resource: 'api',
      principals: ['ip:198.51.100.7', 'account:0a1b2c3d4e5f60'],
      exposures: [{ subject: 0x1234567890 + i, fields: 0b11 }],
      client: {
        ip: '198.51.100.7',
        userAgent: 'python-requests/2.31',
        referer: false,
        anomalies: ANOMALY.automationAgent,
      },
      ordinal: 5_550_000 + i,
    })
  }
}

describe('MemoryLedgerStore snapshots', () => {
  it('forgives nothing across a restart: ledgers and decisions come back', () => {
    const store = new MemoryLedgerStore()
    const engine = createEngine({ policy, store })
    sprinter(engine, 300)
    const file = join(dir, 'ledgers.snapshot')
    const t = T0 + 300 * 50
    const bytes = writeSnapshot(store, file, t)
    assert.ok(bytes > 0)

    const restored = readSnapshot(file, policy.windows)!
    assert.equal(restored.size, store.size)
    const again = createEngine({ policy, store: restored })
    assert.equal(again.judge(['ip:198.51.100.7'], t + 1).action, 'block')
    const counted = store.get('ip:198.51.100.7')!.distinct(0, t)
    assert.equal(restored.get('ip:198.51.100.7')!.distinct(0, t), counted)
    const [was, is] = [store.get('ip:198.51.100.7')!, restored.get('ip:198.51.100.7')!]
    for (let w = 0; w < 3; w++) assert.equal(is.weighted(w, t, policy), was.weighted(w, t, policy))
    assert.equal(is.requests, was.requests)
    assert.equal(is.maxRun, was.maxRun)
    assert.equal(is.requestsIn(0, t, policy.windows), was.requestsIn(0, t, policy.windows))
    // More requests keep counting from where the ledgers were.
    sprinter(again, 100, 300)
    const more = restored.get('ip:198.51.100.7')!.distinct(0, t + 10_000)
    assert.ok(Math.abs(more - 400) < 400 * 0.05, `~400 distinct, got ${more}`)
  })

  it('keeps the crowd of devices behind an address (its volume budget scales with it)', () => {
    const store = new MemoryLedgerStore()
    const engine = createEngine({ policy, store })
    for (let i = 0; i < 200; i++) {
      engine.observe({
        timeMs: T0 + i * 1000,
        method: 'GET',
        route: 'GET /shop',
        path: '/shop',
        status: 200,
        bytes: 100,
        resource: 'page',
        principals: ['ip:198.51.100.8', `device:${(0x5eed0000 + i * 7919).toString(16)}`],
        exposures: [],
        client: { ip: '198.51.100.8', userAgent: 'Mozilla/5.0', referer: true, anomalies: 0 },
        ordinal: -1,
      })
    }
    const crowd = store.get('ip:198.51.100.8')!.crowd
    assert.ok(crowd > 20, `a crowd behind the address (${crowd})`)
    const file = join(dir, 'crowd.snapshot')
    writeSnapshot(store, file, T0 + 200_000)
    assert.equal(readSnapshot(file, policy.windows)!.get('ip:198.51.100.8')!.crowd, crowd)
  })

  it('returns undefined when there is no snapshot yet', () => {
    assert.equal(readSnapshot(join(dir, 'absent'), policy.windows), undefined)
  })

  it('writes atomically: no temp file is left and the old snapshot survives a failed write', () => {
    const file = join(dir, 'atomic.snapshot')
    const store = new MemoryLedgerStore()
    writeSnapshot(store, file, T0)
    const before = readFileSync(file)
    assert.throws(
      () => writeSnapshot(store, join(dir, 'missing-dir', 'x.snapshot'), T0),
      (e) => isHarvestGuardError(e, 'HG_SNAPSHOT_IO'),
    )
    assert.deepEqual(readFileSync(file), before)
  })

  it('holds no raw ID, phone number or subject in the snapshot', () => {
    const store = new MemoryLedgerStore()
    sprinter(createEngine({ policy, store }), 200)
    const file = join(dir, 'privacy.snapshot')
    writeSnapshot(store, file, T0 + 10_000)
    const text = readFileSync(file).toString('latin1')
    // Neither the IDs from the paths (555xxxx) nor the subjects' numbers (78187xxxxxx).
    assert.doesNotMatch(text, /555\d{4}/)
    assert.doesNotMatch(text, /78187\d{6}/)
  })

  it('rejects a corrupt snapshot with HG_SNAPSHOT_CORRUPT, whatever the damage', () => {
    const store = new MemoryLedgerStore()
    sprinter(createEngine({ policy, store }), 50)
    const good = store.toBytes(T0 + 5000)
    const file = join(dir, 'corrupt.snapshot')
    fc.assert(
      fc.property(
        fc.nat(good.length - 1),
        fc.uint8Array({ minLength: 1, maxLength: 16 }),
        (at, noise) => {
          const bad = Uint8Array.from([...good.subarray(0, at), ...noise])
          writeFileSync(file, bad)
          try {
            readSnapshot(file, policy.windows)
          } catch (e) {
            assert.ok(isHarvestGuardError(e, 'HG_SNAPSHOT_CORRUPT'), String(e))
            return
          }
        },
      ),
      { numRuns: 200 },
    )
    writeFileSync(file, 'not a snapshot')
    assert.throws(
      () => readSnapshot(file, policy.windows),
      (e) => isHarvestGuardError(e, 'HG_SNAPSHOT_CORRUPT'),
    )
  })
})
