import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import {
  createJsonLineParser,
  JSON_PRESET_MAPPINGS,
  JSON_PRESETS,
  parseClfTime,
  parseCombinedLine,
  parseCommonLine,
  ParsedLine,
  resolveFormat,
  type LineParser,
} from '../../src/logs/index.ts'

function parse(parser: LineParser, text: string): ParsedLine | undefined {
  const buf = Buffer.from(text, 'latin1')
  const out = new ParsedLine()
  return parser(buf, 0, buf.length, out) ? out : undefined
}

function field(line: ParsedLine, s: number, e: number): string {
  return Buffer.from(line.buf).toString('latin1', s, e)
}

const COMBINED =
  '203.0.113.7 - alice [01/May/2024:10:05:03 +0200] "GET /api/users/42?x=1 HTTP/1.1" 200 1234 "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"'

describe('combined and common lines', () => {
  it('cuts every field of a combined line out of the bytes', () => {
    const l = parse(parseCombinedLine, COMBINED)
    assert.ok(l)
    assert.equal(field(l, l.ipStart, l.ipEnd), '203.0.113.7')
    assert.equal(field(l, l.userStart, l.userEnd), 'alice')
    assert.equal(field(l, l.methodStart, l.methodEnd), 'GET')
    assert.equal(field(l, l.targetStart, l.targetEnd), '/api/users/42?x=1')
    assert.equal(field(l, l.uaStart, l.uaEnd), 'Mozilla/5.0 (X11; Linux x86_64)')
    assert.equal(l.status, 200)
    assert.equal(l.bytes, 1234)
    assert.equal(l.referer, true)
    assert.equal(l.timeMs, Date.parse('2024-05-01T08:05:03Z'))
  })

  it('reads "-" as no referer, no user agent and zero bytes', () => {
    const l = parse(
      parseCombinedLine,
      '10.0.0.1 - - [01/May/2024:00:00:00 +0000] "GET / HTTP/1.1" 304 - "-" "-"',
    )
    assert.ok(l)
    assert.equal(l.referer, false)
    assert.equal(l.uaEnd - l.uaStart, 0)
    assert.equal(l.bytes, 0)
    assert.equal(l.status, 304)
  })

  it('keeps a request line that is not METHOD TARGET PROTO as traffic', () => {
    const l = parse(
      parseCombinedLine,
      '10.0.0.1 - - [01/May/2024:00:00:00 +0000] "-" 400 0 "-" "-"',
    )
    assert.ok(l)
    assert.equal(l.status, 400)
    assert.equal(l.targetEnd - l.targetStart, 0)
  })

  it('honours escaped quotes inside quoted fields', () => {
    const l = parse(
      parseCombinedLine,
      '10.0.0.1 - - [01/May/2024:00:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "curl \\"x\\" 8.0"',
    )
    assert.ok(l)
    assert.equal(field(l, l.uaStart, l.uaEnd), 'curl \\"x\\" 8.0')
  })

  it('parses common lines and rejects a combined line without its user agent', () => {
    const common = '10.0.0.1 - bob [17/May/2015:10:05:03 +0000] "POST /login HTTP/1.0" 302 0'
    const l = parse(parseCommonLine, common)
    assert.ok(l)
    assert.equal(l.hasUserAgent, false)
    assert.equal(field(l, l.methodStart, l.methodEnd), 'POST')
    assert.equal(parse(parseCombinedLine, common), undefined)
  })

  it('rejects a user agent cut off before its closing quote (a real-world line)', () => {
    const cut =
      '46.118.127.106 - - [20/May/2015:12:05:17 +0000] "GET /scripts/grok-py-test/configlib.py HTTP/1.1" 200 235 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html'
    assert.equal(parse(parseCombinedLine, cut), undefined)
  })

  it('applies the zone offset and fractional seconds', () => {
    const b = Buffer.from('31/Dec/2023:23:59:59.250 -0130')
    assert.equal(parseClfTime(b, 0, b.length), Date.parse('2024-01-01T01:29:59.250Z'))
    const bad = Buffer.from('31/Foo/2023:23:59:59 +0000')
    assert.ok(Number.isNaN(parseClfTime(bad, 0, bad.length)))
  })
})

describe('JSON lines', () => {
  it('reads the nginx escape=json preset', () => {
    const line = JSON.stringify({
      time_local: '01/May/2024:10:00:00 +0000',
      remote_addr: '198.51.100.4',
      remote_user: 'key_abc',
      request: 'GET /partner/v1/customers/9 HTTP/1.1',
      status: '200',
      body_bytes_sent: '512',
      http_referer: '',
      http_user_agent: 'python-requests/2.31.0',
    })
    const l = parse(createJsonLineParser(JSON_PRESET_MAPPINGS.nginx), line)
    assert.ok(l)
    assert.equal(field(l, l.ipStart, l.ipEnd), '198.51.100.4')
    assert.equal(field(l, l.targetStart, l.targetEnd), '/partner/v1/customers/9')
    assert.equal(field(l, l.userStart, l.userEnd), 'key_abc')
    assert.equal(l.status, 200)
    assert.equal(l.bytes, 512)
    assert.equal(l.referer, false)
    assert.equal(l.timeMs, Date.parse('2024-05-01T10:00:00Z'))
  })

  it('reads a GCP load-balancer entry, dropping scheme and host of the URL', () => {
    const line = JSON.stringify({
      timestamp: '2024-05-01T10:00:00.123Z',
      httpRequest: {
        requestMethod: 'GET',
        requestUrl: 'https://shop.example.com/item/7?page=2',
        status: 404,
        responseSize: '10',
        remoteIp: '2001:db8::1',
        userAgent: 'Mozilla/5.0',
        referer: 'https://shop.example.com/',
      },
    })
    const l = parse(createJsonLineParser(JSON_PRESET_MAPPINGS.gcp), line)
    assert.ok(l)
    assert.equal(field(l, l.targetStart, l.targetEnd), '/item/7?page=2')
    assert.equal(field(l, l.ipStart, l.ipEnd), '2001:db8::1')
    assert.equal(l.status, 404)
    assert.equal(l.timeMs, Date.parse('2024-05-01T10:00:00.123Z'))
  })

  it('takes epoch seconds and milliseconds as time', () => {
    const p = createJsonLineParser(JSON_PRESET_MAPPINGS.lab)
    const s = parse(
      p,
      '{"ip":"10.0.0.1","time":1714557600.5,"method":"GET","path":"/","status":200}',
    )
    const ms = parse(
      p,
      '{"ip":"10.0.0.1","time":1714557600500,"method":"GET","path":"/","status":200}',
    )
    assert.equal(s?.timeMs, 1714557600500)
    assert.equal(ms?.timeMs, 1714557600500)
  })
})

function sample(lines: string[]): Buffer {
  return Buffer.from(`${lines.join('\n')}\n`)
}

describe('format detection', () => {
  it('picks combined, common or the JSON preset whose fields are present', () => {
    assert.equal(resolveFormat({}, sample([COMBINED, COMBINED]), 'x').name, 'combined')
    const common = '10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.0" 200 3'
    assert.equal(resolveFormat({}, sample([common, common]), 'x').name, 'common')
    const gcp = JSON.stringify({
      timestamp: '2024-05-01T10:00:00Z',
      httpRequest: { requestMethod: 'GET', requestUrl: '/', status: 200, remoteIp: '10.0.0.1' },
    })
    assert.equal(resolveFormat({}, sample([gcp]), 'x').name, 'jsonl:gcp')
  })

  it('refuses to guess on text that is no access log, naming the file', () => {
    assert.throws(
      () => resolveFormat({}, sample(['hello world', 'not a log']), 'notes.txt'),
      (e: Error & { code?: string }) =>
        e.code === 'HG_LOG_FORMAT_UNKNOWN' && e.message.includes('notes.txt'),
    )
  })
})

describe('parsers on arbitrary bytes', () => {
  const parsers: [string, LineParser][] = [
    ['combined', parseCombinedLine],
    ['common', parseCommonLine],
    ...JSON_PRESETS.map((p): [string, LineParser] => [
      `jsonl:${p}`,
      createJsonLineParser(JSON_PRESET_MAPPINGS[p]),
    ]),
  ]
  for (const [name, parser] of parsers) {
    it(`never throws on arbitrary bytes (${name})`, () => {
      const out = new ParsedLine()
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(20), (bytes, cut) => {
          const end = Math.max(0, bytes.length - cut)
          const ok = parser(bytes, 0, end, out)
          if (ok) {
            // ranges stay inside the buffer they point into
            for (const [s, e] of [
              [out.ipStart, out.ipEnd],
              [out.targetStart, out.targetEnd],
              [out.uaStart, out.uaEnd],
            ] as const) {
              assert.ok(s >= 0 && s <= e && e <= out.buf.length)
            }
          }
        }),
        { numRuns: 3000 },
      )
    })
  }

  it('never throws on near-miss combined lines (mutated real lines)', () => {
    const out = new ParsedLine()
    const base = Buffer.from(COMBINED, 'latin1')
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), {
          maxLength: 6,
        }),
        fc.nat(base.length),
        (edits, cut) => {
          const b = Buffer.from(base)
          for (const [i, v] of edits) b[i] = v
          parseCombinedLine(b, 0, cut, out)
          parseCommonLine(b, 0, cut, out)
        },
      ),
      { numRuns: 5000 },
    )
  })
})
