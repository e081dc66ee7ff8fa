/**
 * Privacy by design, checked on the files a guard leaves behind: a harvester enumerates user
 * profiles (IDs, phone numbers, names) through the real parts (config, keyer, catalogue, principal
 * extraction, engine, alert gate, SQLite journal, memory-store snapshot); then the journal
 * (with its WAL) and the snapshot are scanned for every raw value that was served or presented
 * (phone numbers, user IDs, the account, the API key, the session) and for anything shaped like a
 * mainland-China mobile number. None may be there: only keyed digests.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { AlertGate } from '../src/alerts/index.ts'
import { parseConfig } from '../src/config/index.ts'
import {
  MemoryLedgerStore,
  bodyExposures,
  compileCatalogue,
  createEngine,
  pathExposures,
  type Decision,
  type Event,
} from '../src/core/index.ts'
import { createPrincipalExtractor } from '../src/http/index.ts'
import { SqliteJournal } from '../src/journal/index.ts'
import { createKeyer } from '../src/keyer/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'hg-privacy-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const config = parseConfig(
  `
secret: { env: PRIVACY_SECRET }
http:
  account: { kind: header, header: x-user }
routes:
  - route: GET /api/users/:userId
    ordinal: userId
    exposes:
      - subject: 'user:{userId}'
        fields: [id, name, city]
      - each: '$'
        subject: 'user:{.id}'
        fields: { phone: '.phone', name: '.name' }
  - route: GET /api/items/:itemId/comments
    exposes:
      - each: '$.comments[*]'
        subject: 'user:{.userId}'
        fields: { id: '.userId', phone: '.phone', comment: '.text' }
        count: 20
        key: 'comments:{itemId}:{?page}'
`,
  'privacy.yaml',
  { env: { PRIVACY_SECRET: 'privacy-test-secret-0123456789' } },
)

const keyer = createKeyer(config.secret)
const catalogue = compileCatalogue(config.routes)
const extract = createPrincipalExtractor({
  keyer,
  trustedProxies: config.http.trustedProxies,
  ...(config.http.account === undefined ? {} : { account: config.http.account }),
})

const FIRST_ID = 48_213_977
const ACCOUNT = 'harvester.account@example.com'
const API_KEY = 'sk_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0'
const SESSION = 'sess-7f3a9c2e1b5d4a6f8e0c'
const phoneOf = (id: number): string =>
  `1${3 + (id % 7)}${String((id * 7_919) % 1e9).padStart(9, '0')}`
const nameOf = (id: number): string => `用户${id}`

function request(url: string, timeMs: number): { event: Event; served: string[] } {
  const identity = extract({
    method: 'GET',
    url,
    remoteAddress: '203.0.113.7',
    headers: {
      'user-agent': 'python-requests/2.31',
      'x-user': ACCOUNT,
      'x-api-key': API_KEY,
      cookie: `sid=${SESSION}`,
    },
  })
  const m = catalogue.match('GET', url)
  assert.ok(m !== undefined, url)
  const served: string[] = []
  let body: unknown
  if (m.params['userId'] !== undefined) {
    const id = Number(m.params['userId'])
    body = { id, name: nameOf(id), phone: phoneOf(id), city: 'Hangzhou' }
    served.push(String(id), phoneOf(id))
  } else {
    const base = Number(m.params['itemId']) * 1000
    body = {
      comments: Array.from({ length: 20 }, (_, i) => {
        const uid = FIRST_ID + base + i
        served.push(String(uid), phoneOf(uid))
        return { userId: uid, phone: phoneOf(uid), text: 'great' }
      }),
    }
  }
  const exposures = [
    ...pathExposures(m, keyer, identity.hasAccount),
    ...bodyExposures(m, body, keyer, identity.hasAccount),
  ]
  const event: Event = {
    timeMs,
    method: 'GET',
    route: m.route.id,
    path: url,
    status: 200,
    bytes: JSON.stringify(body).length,
    resource: m.route.resource,
    principals: identity.principals,
    exposures,
    client: identity.client,
    ordinal: m.ordinal,
  }
  return { event, served }
}

/** SQLite stores text as UTF-8: files are read as latin1, so search the UTF-8 bytes. */
function utf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1')
}

describe('privacy', () => {
  it('leaves no raw ID, phone number or credential in the journal or the snapshot', async () => {
    const journalPath = join(dir, 'journal.db')
    const journal = new SqliteJournal({ path: journalPath })
    const store = new MemoryLedgerStore({ maxPrincipals: 10_000 })
    const engine = createEngine({ policy: config.policy, store })
    const gate = new AlertGate({ journal })
    const decisions: Decision[] = []
    engine.onDecision((d) => {
      decisions.push(d)
      journal.recordDecision(d)
      gate.consider(d)
    })

    const raw = new Set<string>([ACCOUNT, API_KEY, SESSION])
    let t = Date.UTC(2026, 10, 23, 2, 0, 0)
    // Slow and steady, like the Taobao crawler: one profile every 2 s, a comment page now and then.
    for (let i = 0; i < 3000; i++) {
      t += 2000
      const url = i % 10 === 9 ? `/api/items/${i}/comments?page=1` : `/api/users/${FIRST_ID + i}`
      const { event, served } = request(url, t)
      for (const v of served) raw.add(v)
      engine.observe(event)
    }
    await journal.flush()
    const snapshotPath = join(dir, 'ledgers.snapshot')
    writeFileSync(snapshotPath, store.toBytes(t))

    // The scenario must have produced something to scan, or the test proves nothing.
    assert.ok(decisions.length > 0, 'the harvester drew no decision')
    assert.ok((await journal.decisions({ limit: 1 })).length === 1)
    const files = [journalPath, `${journalPath}-wal`, snapshotPath].filter((f) => existsSync(f))
    // Read before close (the WAL is checkpointed away on close), then again after.
    const contents = files.map((f) => [f, readFileSync(f).toString('latin1')] as const)
    await journal.close()
    contents.push([journalPath, readFileSync(journalPath).toString('latin1')])
    const numeric = new Set([...raw].filter((v) => /^\d+$/.test(v)))
    const lengths = new Set([...numeric].map((v) => v.length))
    for (const [file, text] of contents) {
      for (const value of raw) {
        if (!numeric.has(value)) assert.ok(!text.includes(utf8(value)), `${file} holds ${value}`)
      }
      // Thousands of numeric values: look them up in every digit run instead of scanning per value.
      for (const run of text.match(/\d{8,}/g) ?? []) {
        for (const n of lengths) {
          for (let i = 0; i + n <= run.length; i++) {
            const part = run.slice(i, i + n)
            assert.ok(!numeric.has(part), `${file} holds ${part}`)
          }
        }
      }
      for (let id = FIRST_ID; id < FIRST_ID + 20; id++) {
        assert.ok(!text.includes(utf8(nameOf(id))), `${file} holds a name`)
      }
      // Anything shaped like a mobile number, standing alone (not inside a hex digest or a float).
      const phone = /(?<![0-9A-Fa-f.])1[3-9]\d{9}(?![0-9A-Fa-f])/.exec(text)
      assert.equal(phone, null, `${file} holds a phone-like number ${phone?.[0]}`)
      // Any 8-digit number from the enumerated ID range.
      const ids = text.match(/(?<!\d)4[89]\d{6}(?!\d)/g) ?? []
      const inRange = ids.filter((s) => Number(s) >= FIRST_ID && Number(s) < FIRST_ID + 13_000_000)
      assert.deepEqual(inRange, [], `${file} holds user IDs`)
    }
  })
})
