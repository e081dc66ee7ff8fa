import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { gzipSync } from 'node:zlib'
import { compileCatalogue } from '../../src/core/catalogue.ts'
import { ANOMALY, type Event } from '../../src/core/event.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import { networkOf, openLogSource } from '../../src/logs/index.ts'

const ELASTIC = new URL('../fixtures/logs/elastic-apache_logs.log', import.meta.url).pathname
const keyer = createKeyer('test-secret-0123456789abcdef')

async function collect(source: AsyncIterable<Event>): Promise<Event[]> {
  const out: Event[] = []
  for await (const e of source) out.push(e)
  return out
}

function line(ip: string, t: string, path: string, user = '-', ua = 'Mozilla/5.0 (X11)'): string {
  return `${ip} - ${user} [${t} +0000] "GET ${path} HTTP/1.1" 200 100 "-" "${ua}"`
}

function hasAccount(e: Event | undefined): boolean {
  return e?.principals.some((p) => p.startsWith('account:')) === true
}

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hg-logs-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('log sources', () => {
  it('reads a real Apache log: every good line an event, the cut line a sample with file:line', async () => {
    const source = openLogSource({ files: [ELASTIC], keyer })
    const events = await collect(source)
    assert.equal(source.stats.lines, 10_000)
    assert.equal(source.stats.malformed, 1)
    assert.equal(events.length, 9_999)
    assert.equal(source.stats.formats[ELASTIC], 'combined')
    assert.deepEqual(
      source.stats.samples.map((s) => [s.file, s.line]),
      [[ELASTIC, 8899]],
    )
    assert.equal(source.stats.firstTimeMs, Date.parse('2015-05-17T10:05:00Z'))
    const bots = events.filter((e) => (e.client.anomalies & ANOMALY.automationAgent) !== 0)
    // isbot 5 flags about 30% of this log's lines (Googlebot, Baidu, feed readers, "-")
    assert.ok(bots.length > 2500 && bots.length < 3500, `${bots.length} automation lines`)
    const first = events[0] as Event
    assert.deepEqual(first.principals.slice(0, 2), ['ip:83.149.9.216', 'net:83.149.9.0/24'])
    assert.match(first.principals[2] ?? '', /^device:ua-[0-9a-f]{14}$/)
    assert.equal(first.resource, 'asset')
    assert.equal(first.client.referer, true)
  })

  it('analyses everything before the break of a truncated gzip and says where it broke', async () => {
    const text = await readFile(ELASTIC)
    const gz = gzipSync(text)
    const cutAt = Math.floor(gz.length * 0.6)
    const file = join(dir, 'cut.log.gz')
    await writeFile(file, gz.subarray(0, cutAt))
    const source = openLogSource({ files: [file], keyer })
    const events = await collect(source)
    assert.equal(source.stats.issues.length, 1)
    const issue = source.stats.issues[0]
    assert.equal(issue?.code, 'HG_LOG_GZIP_TRUNCATED')
    assert.ok((issue?.position ?? 0) > 0 && (issue?.position ?? 0) <= cutAt)
    assert.match(issue?.message ?? '', /truncated at compressed byte \d+ of \d+/)
    // most of the 60% of compressed bytes decode to lines before the break
    assert.ok(events.length > 4000 && events.length < 9999, `${events.length} events`)
  })

  it('reads a whole gzip file like the plain one', async () => {
    const file = join(dir, 'whole.log.gz')
    await writeFile(file, gzipSync(await readFile(ELASTIC)))
    const source = openLogSource({ files: [file], keyer })
    const events = await collect(source)
    assert.equal(events.length, 9_999)
    assert.equal(source.stats.issues.length, 0)
  })

  it('merges several files in time order', async () => {
    const a = join(dir, 'a.log')
    const b = join(dir, 'b.log')
    await writeFile(
      a,
      [
        line('10.0.0.1', '01/May/2024:00:00:01', '/a1'),
        line('10.0.0.1', '01/May/2024:00:00:05', '/a2'),
      ].join('\n') + '\n',
    )
    await writeFile(
      b,
      [
        line('10.0.0.2', '01/May/2024:00:00:03', '/b1'),
        line('10.0.0.2', '01/May/2024:00:00:07', '/b2'),
      ].join('\n'),
    )
    const events = await collect(openLogSource({ files: [b, a], keyer }))
    assert.deepEqual(
      events.map((e) => e.path),
      ['/a1', '/b1', '/a2', '/b2'],
    )
    const seq = await collect(openLogSource({ files: [b, a], keyer, order: 'sequential' }))
    assert.deepEqual(
      seq.map((e) => e.path),
      ['/a1', '/a2', '/b1', '/b2'],
    )
  })

  it('expands globs', async () => {
    const events = await collect(openLogSource({ files: [join(dir, '?.log')], keyer }))
    assert.equal(events.length, 4)
  })

  it('turns the user field into digested account or key principals when told to', async () => {
    const file = join(dir, 'users.log')
    await writeFile(
      file,
      [
        line('10.0.0.1', '01/May/2024:00:00:01', '/x', 'alice'),
        line('10.0.0.1', '01/May/2024:00:00:02', '/x', 'key_partner7'),
      ].join('\n') + '\n',
    )
    const [acc, key] = await collect(openLogSource({ files: [file], keyer, user: 'auto' }))
    assert.ok(acc?.principals.some((p) => /^account:[0-9a-f]{14}$/.test(p)))
    assert.ok(key?.principals.some((p) => /^key:[0-9a-f]{14}$/.test(p)))
    assert.ok(!JSON.stringify([acc?.principals, key?.principals]).includes('alice'))
    const [ignored] = await collect(openLogSource({ files: [file], keyer }))
    assert.ok(!ignored?.principals.some((p) => p.startsWith('account:')))
  })

  it('gives an asset line without a user to the account its address and agent used last, within a minute', async () => {
    // static files are served without resolving the session: their lines name no user
    const file = join(dir, 'assets.log')
    await writeFile(
      file,
      [
        line('10.0.0.2', '01/May/2024:00:00:01', '/item/7', 'alice'),
        line('10.0.0.2', '01/May/2024:00:00:02', '/static/app.css'),
        line('10.0.0.2', '01/May/2024:00:00:03', '/static/img/7.png', '-', 'curl/8.0'),
        line('10.0.0.2', '01/May/2024:00:02:30', '/static/app.js'),
        line('10.0.0.2', '01/May/2024:00:02:31', '/item/8'),
        line('10.0.0.2', '01/May/2024:00:02:32', '/static/img/8.png'),
      ].join('\n') + '\n',
    )
    const events = await collect(openLogSource({ files: [file], keyer, user: 'account' }))
    assert.deepEqual(
      events.map((e) => [e.resource, hasAccount(e)]),
      [
        ['page', true],
        ['asset', true], // 1 s after alice's page, same address and agent
        ['asset', false], // another agent
        ['asset', false], // 2.5 min later
        ['page', false], // a page without a user is nobody's
        ['asset', false],
      ],
    )
    const [ignored] = await collect(openLogSource({ files: [file], keyer }))
    assert.ok(!ignored?.principals.some((p) => p.startsWith('account:')))
  })

  it('counts exposures from the catalogue: path subjects and count/key records', async () => {
    const catalogue = compileCatalogue([
      {
        route: 'GET /user/:userId',
        resource: 'page',
        ordinal: 'userId',
        exposes: [{ subject: 'user:{userId}', fields: ['id', 'name', 'city'] }],
      },
      {
        route: 'GET /item/:itemId/comments',
        resource: 'page',
        exposes: [
          {
            each: '$.comments[*]',
            subject: 'user:{.userId}',
            fields: { id: '.userId', comment: '.text' },
            count: 20,
            key: 'comments:{itemId}:{?page}',
          },
        ],
      },
    ])
    const file = join(dir, 'shop.log')
    await writeFile(
      file,
      [
        line('10.0.0.9', '01/May/2024:00:00:01', '/user/42'),
        line('10.0.0.9', '01/May/2024:00:00:02', '/item/7/comments?page=2'),
        line('10.0.0.9', '01/May/2024:00:00:03', '/img/a.png'),
        line('10.0.0.9', '01/May/2024:00:00:04', '/user/42').replace('" 200 ', '" 404 '),
      ].join('\n') + '\n',
    )
    const [user, comments, asset, missing] = await collect(
      openLogSource({ files: [file], keyer, catalogue }),
    )
    assert.equal(user?.route, 'GET /user/:userId')
    assert.equal(user?.ordinal, 42)
    assert.equal(user?.exposures.length, 1)
    assert.equal(user?.exposures[0]?.subject, keyer.digest('user', '42'))
    assert.equal(comments?.exposures.length, 20)
    assert.equal(new Set(comments?.exposures.map((e) => e.subject)).size, 20)
    assert.equal(asset?.resource, 'asset')
    assert.equal(asset?.exposures.length, 0)
    assert.equal(missing?.exposures.length, 0, 'a 404 disclosed nothing')
  })

  it('stops at an aborted signal', async () => {
    const controller = new AbortController()
    controller.abort()
    const events = await collect(
      openLogSource({ files: [ELASTIC], keyer, signal: controller.signal }),
    )
    assert.equal(events.length, 0)
  })

  it('reports a file that cannot be opened and goes on with the others', async () => {
    const source = openLogSource({ files: [join(dir, 'missing.log'), join(dir, 'a.log')], keyer })
    const events = await collect(source)
    assert.equal(events.length, 2)
    assert.equal(source.stats.issues[0]?.code, 'HG_LOG_READ_FAILED')
  })

  it('derives /24 and /48 networks', () => {
    assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24')
    assert.equal(networkOf('2001:db8:abcd:12::1'), '2001:db8:abcd::/48')
    assert.equal(networkOf('::1'), '0:0:0::/48')
    assert.equal(networkOf('not-an-ip'), '')
  })
})
