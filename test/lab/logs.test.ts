import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { gunzipSync } from 'node:zlib'
import {
  jsonLength,
  loadLabSetup,
  writeScenarioLogs,
  type ScenarioParams,
} from '../../src/lab/index.ts'

const setup = loadLabSetup(undefined, { HARVESTGUARD_SECRET: 'lab-test-secret-0123456789abcdef' })
const dir = mkdtempSync(join(tmpdir(), 'hg-lab-logs-'))
after(() => rmSync(dir, { recursive: true, force: true }))
const SMALL: ScenarioParams = {
  a3: false,
  a2: false,
  a5: { accounts: 50, ips: 10 },
  b1: { actors: 40 },
  b2: { actors: 1 },
  b3: { actors: 10 },
  b4: { desks: 1 },
  b5: { actors: 1 },
  b6: { nats: 1, usersPerNat: 10 },
}
const COMBINED =
  /^(\S+) - (\S+) \[(\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000)\] "(\w+) (\S+) HTTP\/1\.1" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/

describe('lab logs', () => {
  it('writes an nginx combined log whose user field is what the shop resolved, with ground truth', async () => {
    const out = join(dir, 'access.log')
    const truth = join(dir, 'truth.json')
    const r = await writeScenarioLogs({
      scenario: 'everything',
      days: 1,
      users: 5000,
      params: SMALL,
      out,
      truth,
      catalogue: setup.catalogue,
      keyer: setup.keyer,
    })
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n')
    assert.equal(lines.length, r.lines)
    const users = new Set<string>()
    for (const line of lines) {
      const m = COMBINED.exec(line)
      assert.ok(m !== null, line)
      users.add(m[2]!)
      if (m[5]!.startsWith('/partner/')) assert.match(m[2]!, /^pk\d+$/)
    }
    assert.ok(users.has('-') && users.has('pk1'))
    const t = JSON.parse(readFileSync(truth, 'utf8')) as {
      actors: { id: string; kind: string; ips: string[]; accounts: string[]; keys: string[] }[]
    }
    const a1 = t.actors.find((a) => a.id === 'A1')!
    assert.equal(a1.kind, 'adversary')
    assert.deepEqual(a1.keys, ['pk1'])
    const a5 = t.actors.find((a) => a.id === 'A5')!
    assert.ok(a5.accounts.length >= 40)
    for (const acc of a5.accounts)
      assert.ok(users.has(acc), `A5 account ${acc} missing from the log`)
    assert.ok(t.actors.filter((a) => a.kind === 'benign').length > 60)
  })

  it('writes gzip and JSON lines on request', async () => {
    const out = join(dir, 'access.jsonl.gz')
    const r = await writeScenarioLogs({
      scenario: 'a1',
      days: 1,
      users: 5000,
      params: SMALL,
      out,
      truth: '',
      format: 'jsonl',
      gzip: true,
      catalogue: setup.catalogue,
      keyer: setup.keyer,
    })
    const lines = gunzipSync(readFileSync(out)).toString('utf8').trimEnd().split('\n')
    assert.equal(lines.length, r.lines)
    const first = JSON.parse(lines.find((l) => l.includes('/partner/'))!) as Record<string, unknown>
    assert.deepEqual(Object.keys(first), [
      'time',
      'ip',
      'user',
      'method',
      'path',
      'status',
      'bytes',
      'referer',
      'userAgent',
    ])
    assert.equal(first['user'], 'pk1')
  })

  it('measures JSON bodies exactly without serialising them', () => {
    for (const v of [
      { a: 1, b: 'x', c: [1, 2, { d: null }] },
      { userId: 5, nickname: 'li_ming_7', phone: '13800000000' },
      [],
      {},
      'q"uote',
      'ünï',
    ]) {
      assert.equal(jsonLength(v), Buffer.byteLength(JSON.stringify(v)))
    }
  })
})
