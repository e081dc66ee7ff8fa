/**
 * `analyze` over old logs never pages anyone: with webhooks and a live alert file in the
 * config, it sends nothing and writes nothing unless `--alerts FILE` names a file, which then
 * gets one line per actor and escalation (log time), through the memory-capped thread too.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { analyzeCommand } from '../../src/cli/commands/analyze.ts'
import { runCli } from '../../src/cli/program.ts'
import type { Alert } from '../../src/core/index.ts'

const ENV = { HARVESTGUARD_SECRET: 'alerts-analyze-secret-0123456789' }
const T0 = Date.UTC(2026, 10, 2, 9, 0, 0)

const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** Common Log Format time. */
function clf(t: number): string {
  const d = new Date(t)
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
}

/** A harvester walking comment pages once a second, and a shopper reading a few. */
function accessLog(): string {
  const lines: string[] = []
  for (let i = 0; i < 900; i++) {
    lines.push(
      `198.51.100.23 - - [${clf(T0 + i * 1000)}] "GET /api/items/${1000 + i}/comments HTTP/1.1" 200 4096 "-" "python-requests/2.31.0"`,
    )
    if (i % 60 === 0)
      lines.push(
        `192.0.2.44 - - [${clf(T0 + i * 1000 + 500)}] "GET /item/${i} HTTP/1.1" 200 9000 "https://shop.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"`,
      )
  }
  return `${lines.join('\n')}\n`
}

describe('harvestguard analyze and alerts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hg-analyze-alerts-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('writes alerts only to --alerts FILE, never to the configured webhooks or live file', async () => {
    let posts = 0
    const receiver = createServer((req, res) => {
      posts++
      req.resume()
      res.writeHead(200).end()
    })
    receiver.listen(0, '127.0.0.1')
    await once(receiver, 'listening')
    const liveFile = join(dir, 'live-alerts.jsonl')
    const config = join(dir, 'hg.yaml')
    writeFileSync(
      config,
      `alerts:
  minAction: mask
  webhooks:
    - url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook
  jsonl: { path: ${liveFile} }
routes:
  - route: GET /item/:itemId
    resource: page
  - route: GET /api/items/:itemId/comments
    resource: api
    ordinal: itemId
    exposes:
      - subject: 'user:{.userId}'
        fields: { id: '.userId', name: '.nickname' }
        each: '$.comments[*]'
        count: 20
        key: 'comments:{itemId}'
`,
    )
    const log = join(dir, 'access.log')
    writeFileSync(log, accessLog())
    try {
      const files: string[] = []
      // default --memory: the analysis runs in a capped worker thread; --memory 0: this thread
      for (const memory of ['448', '0']) {
        const file = join(dir, `alerts-${memory}.jsonl`)
        files.push(file)
        let err = ''
        const code = await runCli(
          ['analyze', '-q', '--config', config, '--memory', memory, '--alerts', file, log],
          [analyzeCommand],
          { out: () => undefined, err: (t) => (err += t), env: ENV },
        )
        assert.equal(code, 0, err)
      }
      // a run without --alerts writes no alert anywhere
      const code = await runCli(
        ['analyze', '-q', '--config', config, '--memory', '0', log],
        [analyzeCommand],
        { out: () => undefined, err: () => undefined, env: ENV },
      )
      assert.equal(code, 0)
      const runs = files.map((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Alert),
      )
      const [threaded, inline] = runs as [Alert[], Alert[]]
      assert.ok(threaded.length > 0, 'the harvester raised alerts')
      assert.deepEqual(
        threaded.map((a) => a.id),
        inline.map((a) => a.id),
        'same alerts from the capped thread and from this one',
      )
      const escalations = threaded.map((a) => `${a.actor} ${a.action}`)
      assert.equal(new Set(escalations).size, escalations.length, `once each: ${escalations}`)
      assert.ok(
        threaded.every(
          (a) =>
            a.principal.startsWith('ip:') ||
            a.principal.startsWith('device:') ||
            a.principal.startsWith('net:'),
        ),
      )
      assert.ok(
        threaded.every((a) => a.timeMs >= T0 && a.timeMs < T0 + 900_000),
        'alerts carry the log time',
      )
      assert.equal(posts, 0, 'no webhook was called')
      assert.equal(existsSync(liveFile), false, "the live guard's alert file was not written")
    } finally {
      receiver.close()
    }
  })
})
