import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { describe, it } from 'node:test'
import type { Decision } from '../../src/core/decision.ts'
import type { Event } from '../../src/core/event.ts'
import { createKeyer } from '../../src/keyer/index.ts'
import {
  ANALYZE_SCHEMA,
  buildJsonReport,
  formatTerminalReport,
  RecordCounter,
  renderHtmlReport,
  ReportCollector,
  type AnalysisSummary,
} from '../../src/report/index.ts'

const T0 = Date.parse('2024-05-01T00:00:00Z')

function event(ip: string, t: number, subjects: number[], extra: string[] = []): Event {
  return {
    timeMs: t,
    method: 'GET',
    route: 'GET /user/:userId',
    path: '/user/1',
    status: 200,
    bytes: 100,
    resource: 'page',
    principals: [`ip:${ip}`, ...extra],
    exposures: subjects.map((s) => ({ subject: s, fields: 0b101 })),
    client: { ip, userAgent: 'x', referer: false, anomalies: 0 },
    ordinal: -1,
  }
}

function decision(
  principal: string,
  actor: string,
  action: Decision['action'],
  t: number,
  linked: string[] = [],
): Decision {
  return {
    principal,
    actor,
    action,
    score: action === 'block' ? 9 : 2,
    readings: [
      {
        signal: 'distinct-records',
        value: 500,
        contribution: 5,
        note: '500 distinct records in 24h, budget 300',
      },
    ],
    linked: linked.map((p) => ({
      principal: p,
      via: principal,
      relation: 'same-requests' as const,
      note: 'same account',
    })),
    timeMs: t,
    expiresAtMs: t + 3600e3,
    shadow: false,
  }
}

function scenario(): { collector: ReportCollector; summary: AnalysisSummary } {
  const c = new ReportCollector()
  // a harvester on two addresses sharing one account, 600 distinct records over 10 hours
  for (let i = 0; i < 600; i++) {
    const ip = i % 2 === 0 ? '10.0.0.1' : '10.0.0.2'
    c.addEvent(event(ip, T0 + i * 60_000, [1e9 + i], ['account:00000000000abc']))
  }
  c.addDecision(
    decision('account:00000000000abc', 'account:00000000000abc', 'throttle', T0 + 300 * 60_000, [
      'ip:10.0.0.1',
      'ip:10.0.0.2',
    ]),
  )
  c.addDecision(
    decision('account:00000000000abc', 'account:00000000000abc', 'block', T0 + 400 * 60_000),
  )
  // a shopper and a suspect
  for (let i = 0; i < 20; i++) c.addEvent(event('192.0.2.5', T0 + i * 1000, [i % 5]))
  for (let i = 0; i < 50; i++) c.addEvent(event('192.0.2.9', T0 + i * 1000, [100 + i]))
  c.addDecision(decision('ip:192.0.2.9', 'ip:192.0.2.9', 'mask', T0 + 30_000))
  const summary: AnalysisSummary = {
    files: ['access.log'],
    formats: { 'access.log': 'combined' },
    bytes: 1000,
    lines: 671,
    malformed: 1,
    events: 670,
    firstTimeMs: T0,
    lastTimeMs: T0 + 599 * 60_000,
    durationMs: 100,
    malformedSamples: [{ file: 'access.log', line: 3, text: 'garbage' }],
    issues: [],
    decisions: 3,
  }
  return { collector: c, summary }
}

describe('report', () => {
  it('groups identities into the engine actor and takes the verdict from its strongest decision', () => {
    const { collector } = scenario()
    const actors = collector.actors()
    const [h, s, b] = actors
    assert.equal(h?.id, 'account:00000000000abc')
    assert.equal(h?.verdict, 'harvester')
    assert.equal(h?.action, 'block')
    assert.deepEqual(h?.principals.ip.toSorted(), ['10.0.0.1', '10.0.0.2'])
    assert.deepEqual(h?.principals.account, ['00000000000abc'])
    assert.equal(h?.distinctRecords, 600)
    assert.equal(h?.requests, 600)
    assert.equal(h?.firstFlaggedMs, T0 + 300 * 60_000)
    assert.equal(s?.verdict, 'suspect')
    assert.equal(b?.verdict, 'benign')
    assert.equal(b?.distinctRecords, 5, 'a record served four times counts once')
  })

  it('writes the documented JSON schema', () => {
    const { collector, summary } = scenario()
    const json = buildJsonReport(summary, collector.actors())
    assert.equal(json.schema, ANALYZE_SCHEMA)
    assert.equal(json.summary.lines, 671)
    assert.equal(json.summary.firstTime, '2024-05-01T00:00:00.000Z')
    const a = json.actors[0]
    assert.ok(a)
    assert.deepEqual(Object.keys(a).toSorted(), [
      'action',
      'byField',
      'distinctRecords',
      'firstFlagged',
      'firstSeen',
      'id',
      'lastSeen',
      'linked',
      'principals',
      'reasons',
      'requests',
      'score',
      'verdict',
    ])
    assert.deepEqual(Object.keys(a.principals).toSorted(), [
      'account',
      'device',
      'ip',
      'key',
      'net',
      'session',
    ])
    assert.deepEqual(a.byField, { id: 600, name: 600 })
    assert.equal(a.firstFlagged, '2024-05-01T05:00:00.000Z')
    assert.equal(a.reasons[0]?.signal, 'distinct-records')
    assert.equal(buildJsonReport(summary, collector.actors(), { benignLimit: 0 }).actors.length, 2)
  })

  it('prints top actors with verdict, records, identities, span and reasons', () => {
    const { collector, summary } = scenario()
    const text = formatTerminalReport(summary, collector.actors())
    assert.match(text, /1\. HARVESTER account:00000000000abc/)
    assert.match(text, /600 distinct records \(id 600, name 600\); 600 requests; 2 ip/)
    assert.match(text, /distinct-records: 500 distinct records in 24h/)
    assert.match(text, /malformed access.log:3/)
  })

  it('counts distinct records within a few percent once sketched, and merges as a union', () => {
    const a = new RecordCounter()
    const b = new RecordCounter()
    const keyer = createKeyer('test-secret-0123456789abcdef')
    const d = (i: number): number => keyer.digest('user', String(i))
    for (let i = 0; i < 100_000; i++) a.add(d(i), 1)
    for (let i = 50_000; i < 150_000; i++) b.add(d(i), 2)
    assert.ok(Math.abs(a.total - 100_000) / 100_000 < 0.05, `${a.total}`)
    a.merge(b)
    assert.ok(Math.abs(a.total - 150_000) / 150_000 < 0.05, `${a.total}`)
  })

  const chromium = '/usr/bin/chromium'
  const skip = existsSync(chromium)
    ? false
    : process.env['CI'] === 'true'
      ? false
      : 'Chromium is absent (apt-get install chromium); under CI=true this fails'
  it('renders an HTML page whose chart Chromium draws, offline', { skip }, async () => {
    assert.ok(existsSync(chromium), 'Chromium is required under CI=true')
    const { collector, summary } = scenario()
    const html = renderHtmlReport(summary, collector.actors())
    assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no external reference')
    const { chromium: pw } = await import('playwright-core')
    const browser = await pw.launch({
      executablePath: chromium,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    try {
      const page = await browser.newPage()
      const requests: string[] = []
      page.on('request', (r) => {
        if (!r.url().startsWith('data:') && r.url() !== 'about:blank') requests.push(r.url())
      })
      await page.setContent(html)
      const chart = page.locator('#records-chart')
      const box = await chart.boundingBox()
      assert.ok(box !== null && box.width > 500 && box.height > 200)
      const shot = await chart.screenshot({ type: 'png' })
      // decode the screenshot in the page itself and count non-white pixels of each series colour
      const counts = (await page.evaluate(`(async (b64) => {
        const img = new Image()
        img.src = 'data:image/png;base64,' + b64
        await img.decode()
        const canvas = document.createElement('canvas')
        canvas.width = img.width
        canvas.height = img.height
        const ctx = canvas.getContext('2d')
        ctx.drawImage(img, 0, 0)
        const data = ctx.getImageData(0, 0, img.width, img.height).data
        let red = 0, blue = 0, ink = 0
        for (let i = 0; i < data.length; i += 4) {
          const r = data[i], g = data[i + 1], bl = data[i + 2]
          if (r < 240 || g < 240 || bl < 240) ink++
          if (r > 180 && g < 80 && bl < 80) red++
          if (r < 80 && g > 90 && g < 150 && bl > 150) blue++
        }
        return { red, blue, ink }
      })(${JSON.stringify(shot.toString('base64'))})`)) as {
        red: number
        blue: number
        ink: number
      }
      assert.ok(counts.red > 300, `harvester line drawn (${counts.red} red pixels)`)
      assert.ok(counts.blue > 50, `second actor drawn (${counts.blue} blue pixels)`)
      assert.equal(await page.locator('circle.flag').count(), 2)
      assert.equal(await page.locator('tbody tr').count(), 3)
      assert.deepEqual(requests, [])
    } finally {
      await browser.close()
    }
  })
})

function observed(suspectAt?: 'observe'): string | undefined {
  const c = new ReportCollector(suspectAt === undefined ? {} : { suspectAt })
  c.addEvent(event('192.0.2.7', T0, [1]))
  c.addDecision(decision('ip:192.0.2.7', 'ip:192.0.2.7', 'observe', T0))
  return c.actors()[0]?.verdict
}

describe('verdict thresholds', () => {
  it('counts an observed actor as benign unless suspects start at observe', () => {
    assert.equal(observed(), 'benign')
    assert.equal(observed('observe'), 'suspect')
  })
})
