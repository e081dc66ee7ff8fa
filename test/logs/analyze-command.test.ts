import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { runCli } from '../../src/cli/program.ts'
import { analyzeCommand } from '../../src/cli/commands/analyze.ts'

const ELASTIC = new URL('../fixtures/logs/elastic-apache_logs.log', import.meta.url).pathname

describe('harvestguard analyze', () => {
  for (const threads of ['1', '2'])
    it(`analyses a real log with the engine and writes JSON and HTML (threads ${threads})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hg-analyze-'))
      try {
        const out: string[] = []
        const err: string[] = []
        const code = await runCli(
          [
            'analyze',
            '--threads',
            threads,
            '--json',
            join(dir, 'r.json'),
            '--html',
            join(dir, 'r.html'),
            ELASTIC,
          ],
          [analyzeCommand],
          {
            out: (t) => out.push(t),
            err: (t) => err.push(t),
            env: { HARVESTGUARD_SECRET: 'analyze-test-secret-0123456789' },
          },
        )
        assert.equal(code, 0, err.join(''))
        const json = JSON.parse(await readFile(join(dir, 'r.json'), 'utf8'))
        assert.equal(json.schema, 'harvestguard.analyze/1')
        assert.equal(json.summary.lines, 10_000)
        assert.equal(json.summary.malformed, 1)
        assert.equal(json.summary.events, 9_999)
        assert.equal(json.summary.firstTime, '2015-05-17T10:05:00.000Z')
        assert.ok(json.actors.length > 0)
        for (const a of json.actors)
          assert.ok(['harvester', 'suspect', 'benign'].includes(a.verdict))
        assert.match(out.join(''), /10,000 lines \(1 malformed\)/)
        assert.match(out.join(''), /malformed .*elastic-apache_logs\.log:8899/)
        const html = await readFile(join(dir, 'r.html'), 'utf8')
        assert.match(html, /<svg id="records-chart"/)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

  it('gives the same report in a memory-capped thread (--memory) as without a cap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hg-analyze-'))
    try {
      const reports: unknown[] = []
      for (const memory of ['0', '256']) {
        const file = join(dir, `r${memory}.json`)
        const err: string[] = []
        const code = await runCli(
          ['analyze', '-q', '--memory', memory, '--user', 'auto', '--json', file, ELASTIC],
          [analyzeCommand],
          {
            out: () => undefined,
            err: (t) => err.push(t),
            env: { HARVESTGUARD_SECRET: 'analyze-test-secret-0123456789' },
          },
        )
        assert.equal(code, 0, err.join(''))
        const json = JSON.parse(await readFile(file, 'utf8'))
        delete json.summary.durationMs
        delete json.summary.linesPerSecond
        reports.push(json)
      }
      assert.deepEqual(reports[1], reports[0])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a bad option with a usage error', async () => {
    const err: string[] = []
    const code = await runCli(['analyze', '--format', 'xml', ELASTIC], [analyzeCommand], {
      out: () => undefined,
      err: (t) => err.push(t),
      env: {},
    })
    assert.equal(code, 2)
    assert.match(err.join(''), /--format/)
  })
})
