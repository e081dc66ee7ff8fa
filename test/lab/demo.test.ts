import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { runDemo } from '../../src/lab/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'hg-lab-demo-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('demo', () => {
  it('serves real traffic through the engine, shows it live and stops cleanly when aborted', async () => {
    const controller = new AbortController()
    const frames: string[] = []
    const journalPath = join(dir, 'demo.db')
    const summary = await runDemo({
      users: 20_000,
      speedup: 600,
      journalPath,
      signal: controller.signal,
      ansi: false,
      refreshMs: 100,
      write: (frame) => {
        frames.push(frame)
        // Stop once enough has happened to judge the view, however fast this machine is.
        const n = Number(/ (\d+) requests/.exec(frame)?.[1] ?? 0)
        if (n >= 300) controller.abort()
      },
    })
    assert.ok(summary.requests >= 300)
    assert.ok(Object.keys(summary.rows).some((p) => p.startsWith('A')))
    assert.ok(Object.keys(summary.rows).some((p) => p.startsWith('B')))
    const last = frames.at(-1)!
    assert.match(last, /records taken in the clear/)
    assert.match(last, /latest decisions/)
    assert.ok(existsSync(journalPath))
  })
})
